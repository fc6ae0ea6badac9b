// Files and folders that several programs write and read: replaced atomically,
// in folders no other local user controls, read when present.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MtlsError } from './errors.ts';
import { createNewFile } from './new-file.ts';

/**
 * A folder or file that another local user could control: a symbolic link,
 * someone else's, or writable by others. Nothing is read from it, kept, or
 * written through it.
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
 * Removes what writeFileAtomic leaves when a run is killed: whole private keys,
 * among others. Only while no other run can be writing (under the run lock).
 */
export async function removeStaleTemporaryFiles(dir: string): Promise<number> {
  const stale = (await readdir(dir)).filter((name) => TEMPORARY.test(name));
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
  return stale.length;
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
  if (writers !== undefined) return `is writable by ${writers} (mode ${octalMode(stats.mode)})`;
  return undefined;
}

/** Who besides the owner may write, by the mode ("group", "others", "group and others"), or undefined. */
export function writersOf(mode: number): string | undefined {
  const writers = [mode & 0o020 ? 'group' : '', mode & 0o002 ? 'others' : ''].filter(Boolean);
  return writers.length === 0 ? undefined : writers.join(' and ');
}

/** The permission bits as `ls -l` users write them: "0644". */
export function octalMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
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

/** The file's text, or undefined when it does not exist; other errors (e.g. EACCES) propagate. */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
