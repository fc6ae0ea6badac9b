import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_FILE, loadTlsMaterial, readOptionalPem, type TlsMaterial } from '../../core/tls-material.ts';
import { checkCrl, CRL_FILE, type LoadedCrl } from './revocation.ts';

/** The server's TLS_DIR: its identity, what it trusts, and the optional CRLs of those CAs. */
export interface ServerMaterial extends TlsMaterial {
  crl: LoadedCrl | undefined;
}

/**
 * Loads the server's TLS_DIR. The shared loader refuses anything that is not a
 * regular file (a FIFO planted as tls.crt would otherwise block a reload, and
 * the exit, for good), through the same handle it reads. `inForce` is the CRL
 * the server holds now: a new one must not be older.
 */
export async function loadServerMaterial(dir: string, inForce?: LoadedCrl, now = new Date()): Promise<ServerMaterial> {
  const material = await loadTlsMaterial(dir, 'server', now);
  const file = join(dir, CRL_FILE);
  // Optional: without it the server checks no revocation (and says so at start-up).
  const pem = await readOptionalPem(file);
  return { ...material, crl: pem === undefined ? undefined : checkCrl(file, pem, material.ca, now, inForce) };
}

/** The mode of tls.key when group or others may read or write it (it should be 0600 or stricter). */
export async function exposedKeyMode(dir: string): Promise<{ file: string; mode: string } | undefined> {
  const file = join(dir, KEY_FILE);
  const { mode } = await stat(file);
  return (mode & 0o077) === 0 ? undefined : { file, mode: (mode & 0o777).toString(8).padStart(4, '0') };
}
