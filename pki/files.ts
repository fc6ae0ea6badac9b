import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { CA_FILE, CERTIFICATE_FILE, KEY_FILE } from '../services/shared/tls-material.ts';
import { privateKeyToPem } from './keys.ts';

export const KEY_MODE = 0o600;
export const CERTIFICATE_MODE = 0o644;

/**
 * Writes through a temporary file in the same directory, then renames it into
 * place: a reader (or a crash) sees the old file or the new one, never half of one.
 */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, mode); // the umask may have narrowed the mode open() asked for
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Creates the directory (and parents) and sets its mode even when it already existed. */
export async function ensureDirectory(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode);
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
  await ensureDirectory(dir, 0o755);
  await writeFileAtomic(join(dir, KEY_FILE), privateKeyToPem(key), KEY_MODE);
  await writeFileAtomic(join(dir, CERTIFICATE_FILE), certificatePem, CERTIFICATE_MODE);
  await writeFileAtomic(join(dir, CA_FILE), caPem, CERTIFICATE_MODE);
}
