import { constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { CA_FILE, CERTIFICATE_FILE, KEY_FILE, loadTlsMaterial, TlsMaterialError, type TlsMaterial } from '../shared/tls-material.ts';
import { checkCrl, CRL_FILE, type LoadedCrl } from './revocation.ts';

/** The server's TLS_DIR: its identity, what it trusts, and the optional CRLs of those CAs. */
export interface ServerMaterial extends TlsMaterial {
  crl: LoadedCrl | undefined;
}

/**
 * Loads the server's TLS_DIR, refusing anything that is not a regular file
 * first: reading a FIFO planted as tls.crt would block until someone writes
 * to it, and a blocked read also keeps the process from exiting. `inForce` is
 * the CRL the server holds now: a new one must not be older.
 */
export async function loadServerMaterial(dir: string, inForce?: LoadedCrl, now = new Date()): Promise<ServerMaterial> {
  for (const name of [CERTIFICATE_FILE, KEY_FILE, CA_FILE, CRL_FILE]) await refuseIfNotRegular(join(dir, name));
  const material = await loadTlsMaterial(dir, 'server', now);
  const file = join(dir, CRL_FILE);
  // Optional: without it the server checks no revocation (and says so at start-up).
  const pem = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new TlsMaterialError(file, `cannot be read (${error.code ?? String(error)})`);
  });
  return { ...material, crl: pem === undefined ? undefined : checkCrl(file, pem, material.ca, now, inForce) };
}

async function refuseIfNotRegular(file: string): Promise<void> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return; // missing or unreadable: the loader says which, in its own words
  }
  try {
    const kind = kindOf(await handle.stat());
    if (kind !== undefined) throw new TlsMaterialError(file, `not a regular file (${kind})`);
  } finally {
    await handle.close();
  }
}

function kindOf(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** The mode of tls.key when group or others may read or write it (it should be 0600 or stricter). */
export async function exposedKeyMode(dir: string): Promise<{ file: string; mode: string } | undefined> {
  const file = join(dir, KEY_FILE);
  const { mode } = await stat(file);
  return (mode & 0o077) === 0 ? undefined : { file, mode: (mode & 0o777).toString(8).padStart(4, '0') };
}
