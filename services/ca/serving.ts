import { join } from 'node:path';
import { writeFileAtomic } from '../../core/files.ts';
import { privateKeyToPem } from '../../core/key-types.ts';
import { CLOCK_SKEW_MS } from '../../core/clock-skew.ts';
import { CERTIFICATE_FILE, isIssuedBy, KEY_FILE, readKeyPair, TlsMaterialError, type KeyPair } from '../../core/tls-material.ts';
import { generateKey, issueCertificate } from '../../core/x509.ts';
import type { Authority } from './authority.ts';
import type { CaDatabase } from './database.ts';
import { keyFingerprint256 } from '../../core/key-fingerprint.ts';

// The CA's own HTTPS certificate: the names agents reach it by in compose and on this machine.
const SERVING_IDENTITY = 'ca';
export const SERVING_NAMES = [
  { type: 'dns', value: 'ca' },
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
] as const;
const SERVING_LIFETIME_MS = 30 * 86_400_000;

/**
 * The CA's serving certificate and key in CA_DIR (tls.crt, tls.key), made anew
 * when missing, not from this CA, or in the last third of its life: the CA
 * renews itself by the rule it sets its workloads.
 */
export async function ensureServingCertificate(
  caDir: string,
  authority: Authority,
  db: CaDatabase,
  now: Date,
): Promise<{ pair: KeyPair; issued: boolean }> {
  const current = await readServing(caDir);
  if (current !== undefined && isFresh(current, authority, now)) return { pair: current, issued: false };
  const key = await generateKey({ type: 'ecdsa', curve: 'P-256' });
  const certificatePem = issueCertificate({
    profile: 'server',
    commonName: SERVING_IDENTITY,
    names: SERVING_NAMES,
    publicKey: key,
    issuer: authority,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(Math.min(now.getTime() + SERVING_LIFETIME_MS, authority.certificate.validToDate.getTime())),
  });
  // Key first: a crash between the two writes leaves a pair that does not match, which the next start replaces.
  await writeFileAtomic(join(caDir, KEY_FILE), privateKeyToPem(key), 0o600);
  await writeFileAtomic(join(caDir, CERTIFICATE_FILE), certificatePem, 0o644);
  const pair = await readKeyPair(caDir, CERTIFICATE_FILE, KEY_FILE);
  const { certificate } = pair;
  db.insertCertificate({
    serial: certificate.serialNumber,
    identity: SERVING_IDENTITY,
    role: 'server',
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
    keyFingerprint256: keyFingerprint256(key),
    fingerprint256: certificate.fingerprint256,
    status: 'issued',
    issuedAt: now.toISOString(),
    issuedVia: 'self',
    renewedFrom: null,
    revokedAt: null,
    revocationReason: null,
  });
  await db.flush();
  return { pair, issued: true };
}

async function readServing(caDir: string): Promise<KeyPair | undefined> {
  try {
    return await readKeyPair(caDir, CERTIFICATE_FILE, KEY_FILE);
  } catch (error) {
    if (error instanceof TlsMaterialError) return undefined;
    throw error;
  }
}

function isFresh({ certificate }: KeyPair, authority: Authority, now: Date): boolean {
  const lifetime = certificate.validToDate.getTime() - certificate.validFromDate.getTime();
  const left = certificate.validToDate.getTime() - now.getTime();
  return isIssuedBy(certificate, authority.certificate) && left > lifetime / 3;
}
