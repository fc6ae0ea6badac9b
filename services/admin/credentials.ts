import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/files.ts';
import { CaError, enroll, renew, type CaEndpoint } from '../agent/ca-client.ts';
import { checkIssued } from '../agent/issued.ts';
import { readTlsMaterial, readTrust, TlsMaterialError, type TlsMaterial } from '../../core/tls-material.ts';
import { createCsr, generateKey, privateKeyToPem } from '../../core/x509.ts';
import { renewalTime } from '../../core/renewal.ts';

export const ADMIN_IDENTITY = 'admin';

/**
 * The admin's certificate from ADMIN_DIR: used as it is while in the first
 * two thirds of its life, renewed with it after that, and enrolled with the
 * one-time token when there is none or it expired (init mints a new token
 * then). The key is generated here and written 0600.
 */
export async function adminCredentials(dir: string, ca: Omit<CaEndpoint, 'trustPem'>, now: Date): Promise<{ material: TlsMaterial; event: string }> {
  const held = await readTlsMaterial(dir).catch((error: unknown) => {
    if (error instanceof TlsMaterialError) return undefined;
    throw error;
  });
  const valid = held !== undefined && now >= held.certificate.validFromDate && now < held.certificate.validToDate;
  // No jitter: a one-shot renews when it runs, not at a spread-out moment.
  if (valid && now < renewalTime({ notBefore: held.certificate.validFromDate, notAfter: held.certificate.validToDate }, () => 0.5)) return { material: held, event: 'kept' };
  const trust = valid ? held : await readTrust(dir);
  const key = await generateKey({ type: 'ecdsa', curve: 'P-256' });
  const csr = createCsr({ key, commonName: ADMIN_IDENTITY, names: [{ type: 'dns', value: ADMIN_IDENTITY }] });
  const endpoint = { ...ca, trustPem: trust.caPem };
  const issued = valid ? await renew(endpoint, held, csr) : await enroll(endpoint, await readToken(dir), csr);
  checkIssued(issued, key, { identity: ADMIN_IDENTITY, role: 'client', trust: trust.ca }, now);
  await writeFileAtomic(join(dir, 'tls.key'), privateKeyToPem(key), 0o600);
  await writeFileAtomic(join(dir, 'tls.crt'), issued.certificatePem, 0o644);
  await writeFileAtomic(join(dir, 'ca.crt'), issued.caPem, 0o644);
  return { material: await readTlsMaterial(dir), event: valid ? 'renewed' : 'enrolled' };
}

async function readToken(dir: string): Promise<string> {
  const file = join(dir, 'token');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    throw new CaError('TOKEN_MISSING', `no valid admin certificate and no enrollment token at ${file} (${(error as NodeJS.ErrnoException).code}): run the CA's init with --enroll admin:admin:DIR`);
  }
}
