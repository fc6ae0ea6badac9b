// core/stop.ts in a real child process: a clean close lets the process end by
// itself, a failed close exits 1, and a close that never finishes is ended by
// the process's own SIGKILL after the grace period, its reason logged first.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseEvents } from './helpers/events.ts';
import { ROOT } from './helpers/processes.ts';

const CHILD = join(ROOT, 'test/helpers/stop-child.ts');

/** Starts the child, sends `signal` once it is ready, and returns how it ended and what it logged. */
async function stopChild(close: string, signal: NodeJS.Signals, graceMs = 0) {
  const child = spawn(process.execPath, [CHILD], { env: { ...process.env, MTLS_TEST_CLOSE: close, MTLS_TEST_GRACE_MS: String(graceMs) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes('"event":"ready"') && child.signalCode === null && !child.killed) child.kill(signal);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // A child that outlives its forced stop by far is ended by the test, and says so.
  let killedByTest = false;
  const guard = setTimeout(() => {
    killedByTest = true;
    child.kill('SIGKILL');
  }, 20_000);
  const [code, exitSignal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(guard);
  return { code, signal: exitSignal, killedByTest, stderr, events: parseEvents(stdout).map(({ time: _time, level, ...rest }) => ({ level, ...rest })) };
}

describe('stopOnSignals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with a clean close: stopped is logged, exit 0`, async () => {
      const ended = await stopChild('clean', signal);
      assert.deepEqual({ code: ended.code, signal: ended.signal, killedByTest: ended.killedByTest, stderr: ended.stderr }, { code: 0, signal: null, killedByTest: false, stderr: '' });
      assert.deepEqual(ended.events, [
        { level: 'info', event: 'ready' },
        { level: 'info', event: 'shutting_down', signal },
        { level: 'info', event: 'stopped' },
      ]);
    });
  }

  it('a close that fails: stop_failed with the first line of the error, exit 1', async () => {
    const ended = await stopChild('failing', 'SIGTERM');
    assert.deepEqual({ code: ended.code, signal: ended.signal, killedByTest: ended.killedByTest }, { code: 1, signal: null, killedByTest: false });
    assert.deepEqual(ended.events.slice(1), [
      { level: 'info', event: 'shutting_down', signal: 'SIGTERM' },
      { level: 'error', event: 'stop_failed', message: 'Error: database is locked' },
    ]);
  });

  it('a close that never finishes: stop_forced is logged, then the process kills itself (SIGKILL, not from the test)', async () => {
    const ended = await stopChild('stuck', 'SIGTERM', 500);
    assert.deepEqual({ code: ended.code, signal: ended.signal, killedByTest: ended.killedByTest }, { code: null, signal: 'SIGKILL', killedByTest: false });
    // The grace period plus the margin close() gets to return after it.
    assert.deepEqual(ended.events.slice(1), [
      { level: 'info', event: 'shutting_down', signal: 'SIGTERM' },
      { level: 'error', event: 'stop_forced', afterMs: 2500 },
    ]);
  });
});
