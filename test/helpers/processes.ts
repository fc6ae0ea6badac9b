import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { copyFile, cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded by a timeout) and captures its output. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
  uid?: number;
  gid?: number;
}

export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const { env = process.env, cwd = ROOT, uid, gid, timeoutMs = 60_000 } = options;
    const child = execFile(command, args, { cwd, env, uid, gid, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      if (error !== null && code === null) reject(error);
      else resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** The project's PKI command, exactly as `npm run pki -- ...` runs it. */
export function runPkiCommand(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'pki/main.ts'), ...args]);
}

export const UNPRIVILEGED = 65534;
let unprivilegedCopy: Promise<{ node: string; main: string }> | undefined;

/**
 * The PKI command as an unprivileged user (uid 65534) when the tests run as
 * root, who may read and write anything. That user may not be able to reach
 * node or this checkout (root's home, a 0700 temporary directory), so it runs
 * a copy of both: node, and the PKI's code with its one dependency.
 */
export async function runPkiCommandUnprivileged(...args: string[]): Promise<RunResult> {
  if (process.getuid?.() !== 0) return runPkiCommand(...args);
  unprivilegedCopy ??= (async () => {
    const dir = await temporaryDirectory('mtls-unprivileged-');
    for (const path of ['package.json', 'pki', 'demo/scenarios.ts', 'core', 'node_modules/node-forge']) {
      await cp(join(ROOT, path), join(dir, path), { recursive: true });
    }
    await copyFile(process.execPath, join(dir, 'node'));
    await run('chmod', ['-R', 'a+rX', dir]);
    return { node: join(dir, 'node'), main: join(dir, 'pki/main.ts') };
  })();
  const { node, main } = await unprivilegedCopy;
  return run(node, [main, ...args], { uid: UNPRIVILEGED, gid: UNPRIVILEGED });
}

export function openssl(...args: string[]): Promise<RunResult> {
  return run('openssl', args);
}

const temporaryDirectories: string[] = [];
process.on('exit', () => {
  for (const dir of temporaryDirectories) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process exits. */
export async function temporaryDirectory(prefix = 'mtls-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporaryDirectories.push(dir);
  return dir;
}

export { spawn };
