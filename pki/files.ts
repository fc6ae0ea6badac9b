import { chmod, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { ensureDirectory, lstatIfPresent, octalMode, UnsafePathError, writeFileAtomic, writersOf } from '../core/files.ts';
import { privateKeyToPem } from '../core/key-types.ts';
import { CA_FILE, CERTIFICATE_FILE, KEY_FILE } from '../core/tls-material.ts';
import { CERTIFICATE_MODE, KEY_MODE } from '../core/new-file.ts';

export const CA_FOLDER_MODE = 0o700;
export const IDENTITY_FOLDER_MODE = 0o755;

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
    throw refuse(`is writable by ${writers} without the sticky bit (mode ${octalMode(stats.mode)})`);
  }
}

/**
 * Narrows a kept private key that others could read to 0600 (a stricter mode
 * stays); says what it was, or undefined when it was already private.
 */
export async function tightenKeyMode(path: string): Promise<string | undefined> {
  const stats = await lstatIfPresent(path);
  if (stats === undefined || (stats.mode & 0o077) === 0) return undefined;
  await chmod(path, KEY_MODE);
  return `${basename(path)} had mode ${octalMode(stats.mode)}, now ${octalMode(KEY_MODE)}`;
}

/** One identity's folder: its key, its certificate, and what it trusts. */
export async function writeIdentity(dir: string, key: KeyObject, certificatePem: string, caPem: string): Promise<void> {
  await ensureDirectory(dir, IDENTITY_FOLDER_MODE);
  await writeFileAtomic(join(dir, KEY_FILE), privateKeyToPem(key), KEY_MODE);
  await writeFileAtomic(join(dir, CERTIFICATE_FILE), certificatePem, CERTIFICATE_MODE);
  await writeFileAtomic(join(dir, CA_FILE), caPem, CERTIFICATE_MODE);
}
