import { createPrivateKey, X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, readIfPresent } from '../../core/files.ts';
import { privateKeyToPem } from '../../core/key-types.ts';
import { CLOCK_SKEW_MS } from '../../core/clock-skew.ts';
import { CA_KEY_FILE, hasCommittedPair, recoverCaPair, writeCaPair } from '../../core/ca-pair.ts';
import { CA_FILE as CA_CERTIFICATE_FILE } from '../../core/tls-material.ts';
import { generateKey, issueCertificate, type Issuer } from '../../core/x509.ts';
import { MtlsError } from '../../core/errors.ts';

export const DATABASE_FILE = 'ca.db';

const CA_COMMON_NAME = 'mtls-demo lifecycle CA';
// The root outlives many generations of workloads; what it signs lives minutes.
const CA_LIFETIME_MS = 10 * 365 * 86_400_000;

/** The CA: its certificate (PEM and parsed) and its private key. */
export interface Authority extends Issuer {
  certificatePem: string;
}

/** The CA's files are missing, unreadable or do not belong together; `message` is one line. */
export class AuthorityError extends MtlsError {
  readonly code = 'ECAMATERIAL';
}

/**
 * Loads the CA from `caDir`, or creates it there when there is none, first
 * finishing or undoing what a killed run left (`recovered` says which). An
 * existing key is never replaced, not even when its certificate is missing.
 */
export async function createOrLoadAuthority(caDir: string, now: Date): Promise<{ authority: Authority; created: boolean; recovered: string[] }> {
  await ensureDirectory(caDir, 0o700);
  const recovered = await recoverCaPair(caDir, 'keep');
  if ((await readIfPresent(join(caDir, CA_KEY_FILE))) !== undefined) return { authority: await loadAuthority(caDir, now), created: false, recovered };
  const key = await generateKey({ type: 'ecdsa', curve: 'P-256' });
  const certificatePem = issueCertificate({
    profile: 'ca',
    commonName: CA_COMMON_NAME,
    names: [],
    publicKey: key,
    subjectKey: key,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + CA_LIFETIME_MS),
  });
  // Another init may have won the race: then its CA is the CA.
  if (!(await writeNew(caDir, privateKeyToPem(key), certificatePem))) return { authority: await loadAuthority(caDir, now), created: false, recovered };
  return { authority: { certificate: new X509Certificate(certificatePem), certificatePem, key }, created: true, recovered };
}

async function writeNew(caDir: string, keyPem: string, certificatePem: string): Promise<boolean> {
  try {
    return await writeCaPair(caDir, keyPem, certificatePem, 'keep');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new AuthorityError(`another init is writing a CA in ${caDir}: run init again once it has finished`);
    throw error;
  }
}

/** Loads the CA that `init` created, checking that its key and certificate belong together and that it can still sign. */
export async function loadAuthority(caDir: string, now: Date): Promise<Authority> {
  const keyFile = join(caDir, CA_KEY_FILE);
  const certificateFile = join(caDir, CA_CERTIFICATE_FILE);
  const keyPem = await readIfPresent(keyFile);
  if (await hasCommittedPair(caDir)) throw new AuthorityError(`an interrupted init left the CA in ${caDir} half-installed: run "init" again to finish it`);
  if (keyPem === undefined) throw new AuthorityError(`${keyFile} is missing: run "init" first to create the CA`);
  await checkPrivate(keyFile);
  const certificatePem = await readIfPresent(certificateFile);
  if (certificatePem === undefined) {
    throw new AuthorityError(`${certificateFile} is missing but ${keyFile} exists: restore ca.crt (the CA key is never replaced)`);
  }
  const key = parse(keyFile, () => createPrivateKey(keyPem));
  const certificate = parse(certificateFile, () => new X509Certificate(certificatePem));
  if (!certificate.ca) throw new AuthorityError(`${certificateFile} is not a CA certificate`);
  if (!certificate.checkPrivateKey(key)) throw new AuthorityError(`${keyFile} does not match ${certificateFile}`);
  if (now > certificate.validToDate) throw new AuthorityError(`${certificateFile} expired on ${certificate.validToDate.toISOString()}`);
  return { certificate, certificatePem, key };
}

async function checkPrivate(keyFile: string): Promise<void> {
  const { mode } = await stat(keyFile);
  if ((mode & 0o077) !== 0) {
    throw new AuthorityError(`${keyFile} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  }
}

function parse<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch {
    throw new AuthorityError(`${file} cannot be parsed`);
  }
}
