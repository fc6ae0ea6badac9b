import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface SServer extends AsyncDisposable {
  child: ChildProcess;
  /** The port s_server bound (it was asked for port 0) and said so. */
  port: number;
  /** The first line of its stdout or stderr that matches (bounded: 10 s). */
  lineMatching(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<string>;
}

/**
 * `openssl s_server -Verify 1 -www` as an independent mTLS server, with the
 * material in `dir` (tls.crt, tls.key, ca.crt), on a loopback port of its
 * choosing; `await using` stops it.
 */
export async function startSServer(dir: string, extra: readonly string[] = []): Promise<SServer> {
  const file = (name: string) => join(dir, name);
  const child = spawn(
    'openssl',
    ['s_server', '-accept', '127.0.0.1:0', ...extra, '-cert', file('tls.crt'), '-key', file('tls.key'), '-CAfile', file('ca.crt'), '-Verify', '1', '-verify_return_error', '-www'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lineMatching = (pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout') => firstLine(child, pattern, stream);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  };
  try {
    const accept = await lineMatching(/^ACCEPT 127\.0\.0\.1:\d+$/);
    const port = Number(accept.slice(accept.lastIndexOf(':') + 1));
    return { child, port, lineMatching, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function firstLine(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr'): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in: ${seen}`)), 10_000);
    child[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((candidate) => pattern.test(candidate));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}
