import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { CERTIFICATE_FILE, KEY_FILE, readTlsMaterial, readTrust, type Trust, type TlsMaterial } from '../../core/tls-material.ts';

/** What the client has: always ca.crt; tls.crt + tls.key unless it presents nothing. */
export type ClientMaterial = Trust & Partial<TlsMaterial>;

/**
 * tls.crt + tls.key + ca.crt, or ca.crt alone: a client without a certificate
 * is allowed to try (and be refused), which is how mTLS is best understood.
 * One of the pair without the other is an error (TlsMaterialError).
 */
export async function readClientMaterial(dir: string): Promise<ClientMaterial> {
  const present = await Promise.all([CERTIFICATE_FILE, KEY_FILE].map((name) => exists(join(dir, name))));
  if (!present[0] && !present[1]) return readTrust(dir);
  return readTlsMaterial(dir);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
