import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { MtlsError } from '../core/errors.ts';
import { CA_FILE, CERTIFICATE_FILE, KEY_FILE } from '../core/tls-material.ts';
import { CERTIFICATE_MODE, createNewFile, KEY_MODE } from '../core/new-file.ts';
import { privateKeyToPem } from './keys.ts';

export { CERTIFICATE_MODE, KEY_MODE } from '../core/new-file.ts';
export const CA_FOLDER_MODE = 0o700;
export const IDENTITY_FOLDER_MODE = 0o755;

/**
 * A folder or file under --out that another local user could control: a
 * symbolic link, someone else's, or writable by others. Nothing is read from
 * it, kept, or written through it.
 */
export class UnsafePathError extends MtlsError {
  readonly code = 'EUNSAFEPATH';
}

const TEMPORARY = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * Writes through a temporary file in the same directory, then renames it into
 * place: a reader (or a crash) sees the old file or the new one, never half of one.
 */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  // The name matches TEMPORARY, so that a later run can remove what a killed one left.
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await createNewFile(temporary, data, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Creates the directory (and parents), refuses one another user could control,
 * and sets its mode even when it already existed.
 */
export async function ensureDirectory(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  const stats = await lstat(path);
  refuseUnsafe(path, stats, 'directory');
  if ((stats.mode & 0o7777) !== mode) await chmod(path, mode);
}

/** Refuses an existing folder or file that another user could control; a missing one is fine. */
export async function checkOwnIfPresent(path: string, kind: 'directory' | 'file'): Promise<void> {
  const stats = await lstatIfPresent(path);
  if (stats !== undefined) refuseUnsafe(path, stats, kind);
}

function refuseUnsafe(path: string, stats: Stats, kind: 'directory' | 'file'): void {
  const problem = unsafety(stats, kind);
  if (problem !== undefined) throw new UnsafePathError(`${path} ${problem}; refusing to use it`);
}

function unsafety(stats: Stats, kind: 'directory' | 'file'): string | undefined {
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'directory' ? !stats.isDirectory() : !stats.isFile()) return `is not a ${kind === 'file' ? 'regular file' : kind}`;
  const uid = process.geteuid?.();
  if (uid !== undefined && stats.uid !== uid) return `is owned by uid ${stats.uid}, not by this user (uid ${uid})`;
  const writers = writersOf(stats.mode);
  if (writers !== undefined) return `is writable by ${writers} (mode ${octal(stats.mode)})`;
  return undefined;
}

/**
 * --out may be shared like /tmp (sticky: only an entry's owner may rename or
 * remove it), but not in a way that lets another user swap the identity
 * folders in it between the checks and the writes.
 */
export async function checkOutFolder(path: string): Promise<void> {
  const stats = await stat(path);
  const uid = process.geteuid?.();
  const refuse = (problem: string) => new UnsafePathError(`${path} ${problem}; refusing to write into it`);
  if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) throw refuse(`is owned by uid ${stats.uid}, not by this user (uid ${uid}) or root`);
  const writers = writersOf(stats.mode);
  if (writers !== undefined && (stats.mode & 0o1000) === 0) {
    throw refuse(`is writable by ${writers} without the sticky bit (mode ${octal(stats.mode)})`);
  }
}

function writersOf(mode: number): string | undefined {
  const writers = [mode & 0o020 ? 'group' : '', mode & 0o002 ? 'others' : ''].filter(Boolean);
  return writers.length === 0 ? undefined : writers.join(' and ');
}

/**
 * Narrows a kept private key that others could read to 0600 (a stricter mode
 * stays); says what it was, or undefined when it was already private.
 */
export async function tightenKeyMode(path: string): Promise<string | undefined> {
  const stats = await lstatIfPresent(path);
  if (stats === undefined || (stats.mode & 0o077) === 0) return undefined;
  await chmod(path, KEY_MODE);
  return `${basename(path)} had mode ${octal(stats.mode)}, now ${octal(KEY_MODE)}`;
}

/**
 * Removes what writeFileAtomic leaves when a run is killed: whole private keys,
 * among others. Only while no other run can be writing (under the run lock).
 */
export async function removeStaleTemporaryFiles(dir: string): Promise<number> {
  const stale = (await readdir(dir)).filter((name) => TEMPORARY.test(name));
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
  return stale.length;
}

/** What is at `path` itself (a symbolic link is not followed), or undefined when nothing is; other errors (e.g. EACCES) propagate. */
export async function lstatIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    // ENOTDIR: a part of the path is a file, so nothing can be there.
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}

/** Whether anything (a file, a folder, a symbolic link, even a dangling one) is at `path`. */
export async function isPresent(path: string): Promise<boolean> {
  return (await lstatIfPresent(path)) !== undefined;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** The file's text, or undefined when it does not exist; other errors (e.g. EACCES) propagate. */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** One identity's folder: its key, its certificate, and what it trusts. */
export async function writeIdentity(dir: string, key: KeyObject, certificatePem: string, caPem: string): Promise<void> {
  await ensureDirectory(dir, IDENTITY_FOLDER_MODE);
  await writeFileAtomic(join(dir, KEY_FILE), privateKeyToPem(key), KEY_MODE);
  await writeFileAtomic(join(dir, CERTIFICATE_FILE), certificatePem, CERTIFICATE_MODE);
  await writeFileAtomic(join(dir, CA_FILE), caPem, CERTIFICATE_MODE);
}
