import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_FILE, loadTlsMaterial, type TlsMaterial } from '../shared/tls-material.ts';

/**
 * Loads the server's TLS_DIR. The shared loader refuses anything that is not a
 * regular file (a FIFO planted as tls.crt would otherwise block a reload, and
 * the exit, for good), through the same handle it reads.
 */
export async function loadServerMaterial(dir: string): Promise<TlsMaterial> {
  return loadTlsMaterial(dir, 'server');
}

/** The mode of tls.key when group or others may read or write it (it should be 0600 or stricter). */
export async function exposedKeyMode(dir: string): Promise<{ file: string; mode: string } | undefined> {
  const file = join(dir, KEY_FILE);
  const { mode } = await stat(file);
  return (mode & 0o077) === 0 ? undefined : { file, mode: (mode & 0o777).toString(8).padStart(4, '0') };
}
