// One run at a time per --out: two runs at once could each make a CA and
// leave leaves signed by the one that lost, or a ca.key from one run next to
// the ca.crt of the other. The lock is a file created atomically with its
// holder inside; a holder that is gone (killed) is noticed and replaced.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, lstat, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MtlsError } from '../core/errors.ts';
import { checkOwnIfPresent, ensureDirectory } from '../core/files.ts';
import { IDENTITY_FOLDER_MODE } from './files.ts';
import { UsageError } from './options.ts';

export const LOCK_FILE = '.pki.lock';
export const DEFAULT_LOCK_WAIT_MS = 30_000;
const POLL_MS = 50;

/** Another run held the lock for longer than this run would wait. */
export class LockBusyError extends MtlsError {
  readonly code = 'ELOCKED';
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

export type Release = () => Promise<void>;

/**
 * The lock lives in --out. Where --out is read-only (as in the containers:
 * one volume per identity under a read-only /out), it lives in server/, the
 * one folder that every run writes, whatever the method.
 */
export async function lockOut(out: string, waitMs: number): Promise<Release> {
  if (await isWritable(out)) return acquireLock(join(out, LOCK_FILE), waitMs);
  const server = join(out, 'server');
  await ensureDirectory(server, IDENTITY_FOLDER_MODE);
  return acquireLock(join(server, LOCK_FILE), waitMs);
}

/** Waits at most waitMs for the lock at `path`, then holds it until the returned release. */
async function acquireLock(path: string, waitMs: number): Promise<Release> {
  const content = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder);
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await tryCreate(path, content)) return () => release(path, content);
    const held = await readHolder(path);
    if (held !== undefined && isGone(held.holder)) {
      await removeStale(path, held.inode);
      continue;
    }
    if (Date.now() >= deadline) throw busy(path, held?.holder, waitMs);
    await sleep(POLL_MS);
  }
}

/** Writable by us, on a file system mounted read-write. */
async function isWritable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** PKI_LOCK_WAIT_SECONDS, checked; the default when unset. */
export function parseLockWait(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOCK_WAIT_MS;
  if (!/^\d{1,4}$/.test(value) || Number(value) > 3600) {
    throw new UsageError(`PKI_LOCK_WAIT_SECONDS must be a whole number of seconds from 0 to 3600, not "${value}"`);
  }
  return Number(value) * 1000;
}

/**
 * link() of a complete file is atomic and fails when the lock exists, so a
 * reader never sees a lock without its holder. The staging name does not
 * look like a writeFileAtomic temporary file: the lock holder's clean-up
 * must not remove it from under a waiting run.
 */
async function tryCreate(path: string, content: string): Promise<boolean> {
  const staging = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(staging, content, { flag: 'wx', mode: 0o644 });
  try {
    await link(staging, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(staging, { force: true });
  }
}

/** The current holder, or undefined when the lock vanished meanwhile; a planted lock is refused. */
async function readHolder(path: string): Promise<{ holder: Holder | undefined; inode: number } | undefined> {
  try {
    await checkOwnIfPresent(path, 'file');
    const { ino } = await lstat(path);
    return { holder: parseHolder(await readFile(path, 'utf8')), inode: ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    const valid = Number.isSafeInteger(value.pid) && typeof value.host === 'string' && typeof value.since === 'string';
    return valid ? (value as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Only a holder on this host can be checked. A process with our own pid that
 * is not us is an earlier run in a container that was started again.
 */
function isGone(holder: Holder | undefined): boolean {
  if (holder === undefined || holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Moves the stale lock aside, then checks it was the one judged stale: if a
 * live run took the lock in between, its file goes back.
 */
async function removeStale(path: string, inode: number): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((await lstat(aside)).ino !== inode) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

async function release(path: string, content: string): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === content) await rm(path, { force: true });
}

function busy(path: string, holder: Holder | undefined, waitMs: number): LockBusyError {
  const who = holder === undefined ? 'an unreadable holder' : `pid ${holder.pid} on ${holder.host} since ${holder.since}`;
  return new LockBusyError(
    `another run holds ${path} (${who}); gave up after ${waitMs / 1000} s (if no run is active, remove that file)`,
  );
}
