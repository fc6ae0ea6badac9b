import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from './processes.ts';

/** One JSON log line of our programs. */
export interface Event {
  event: string;
  [key: string]: unknown;
}

/** The JSON lines of a log, in order; other lines (a stack trace, compose's noise) are skipped. */
export function parseEvents(text: string): Event[] {
  const events: Event[] = [];
  for (const line of text.split('\n')) {
    const start = line.indexOf('{"');
    if (start === -1) continue;
    try {
      const value = JSON.parse(line.slice(start)) as Event;
      if (typeof value.event === 'string') events.push(value);
    } catch {
      // not one of ours
    }
  }
  return events;
}

/** A program of ours as a child process, its JSON lines collected as they come. */
export interface EventProcess {
  child: ChildProcess;
  events: Event[];
  stderr(): string;
  /** The first event (seen or to come) that matches, within timeoutMs. */
  waitFor(match: (event: Event) => boolean, timeoutMs?: number): Promise<Event>;
  /** Sends SIGTERM and resolves to the exit code (null if killed, after 20 s, with SIGKILL). */
  stop(): Promise<number | null>;
}

export function startEventProcess(script: string, env: NodeJS.ProcessEnv): EventProcess {
  const child = spawn(process.execPath, [script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Event[] = [];
  let stdoutRest = '';
  let stderr = '';
  const waiters = new Set<{ match: (event: Event) => boolean; resolve: (event: Event) => void }>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (stdoutRest + chunk).split('\n');
    stdoutRest = lines.pop() ?? '';
    for (const event of parseEvents(lines.join('\n'))) {
      events.push(event);
      for (const waiter of waiters) if (waiter.match(event)) waiter.resolve(event);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    events,
    stderr: () => stderr,
    waitFor(match, timeoutMs = 15_000) {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (event: Event) => (waiters.delete(waiter), clearTimeout(timer), resolve(event)) };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching event within ${timeoutMs} ms; saw ${events.map((e) => e.event).join(', ')}; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => setTimeout(() => waiters.has(waiter) && (waiters.delete(waiter), clearTimeout(timer), reject(new Error(`exited before a matching event; stderr: ${stderr}`))), 50));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
