import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { ensureDirectory, readIfPresent, writeFileAtomic } from '../../core/files.ts';
import type { Log } from '../../core/log.ts';
import { CA_FILE, CERTIFICATE_FILE, isIssuedBy } from '../../core/tls-material.ts';
import { describeKey } from '../../core/x509.ts';
import { createOrLoadAuthority, DATABASE_FILE, type Authority } from './authority.ts';
import type { CaConfig, EnrollmentRequest } from './config.ts';
import { CaDatabase, type CertificateRecord } from './database.ts';
import { ensureServingCertificate } from './serving.ts';
import { hashToken, mintToken } from './tokens.ts';

const TOKEN_FILE = 'token';

/**
 * `init`: the CA (created once, never replaced), its database and serving
 * certificate, then one enrollment token per `--enroll` whose DIR does not
 * already hold a valid certificate for that identity.
 */
export async function runInit(config: CaConfig, requests: readonly EnrollmentRequest[], log: Log): Promise<void> {
  const now = new Date();
  const { authority, created, recovered } = await createOrLoadAuthority(config.caDir, now);
  if (recovered.length > 0) log.info('ca_recovered', { caDir: config.caDir, notes: recovered });
  log.info(created ? 'ca_created' : 'ca_kept', {
    caDir: config.caDir,
    subject: authority.certificate.subject.trim(),
    fingerprint256: authority.certificate.fingerprint256,
    key: describeKey(authority.key),
    notAfter: authority.certificate.validToDate.toISOString(),
  });
  const db = new CaDatabase(join(config.caDir, DATABASE_FILE));
  try {
    const serving = await ensureServingCertificate(config.caDir, authority, db, now);
    if (serving.issued) log.info('serving_certificate_issued', { serial: serving.pair.certificate.serialNumber, notAfter: serving.pair.certificate.validToDate.toISOString() });
    for (const request of requests) await prepareEnrollment(request, { authority, db, tokenTtlMs: config.tokenTtlMs, now, log });
  } finally {
    await db.close();
  }
}

interface InitContext {
  authority: Authority;
  db: CaDatabase;
  tokenTtlMs: number;
  now: Date;
  log: Log;
}

/** Writes DIR/ca.crt (the bootstrap trust) and, unless DIR/tls.crt is a valid certificate of this identity, DIR/token. */
async function prepareEnrollment(request: EnrollmentRequest, { authority, db, tokenTtlMs, now, log }: InitContext): Promise<void> {
  const who = { identity: request.identity, role: request.role, dir: request.dir };
  await ensureDirectory(request.dir, 0o700);
  await writeFileAtomic(join(request.dir, CA_FILE), authority.certificatePem, 0o644);
  const enrolled = await enrolledCertificate(request, authority, db, now);
  if (enrolled !== undefined) {
    log.info('already_enrolled', { ...who, serial: enrolled.serial, notAfter: enrolled.notAfter });
    return;
  }
  const token = mintToken();
  const expires = new Date(now.getTime() + tokenTtlMs).toISOString();
  // In the database before it is in the file: a token an agent can read always works.
  // One valid token per identity: the ones earlier runs minted (perhaps copied somewhere) stop working with this one.
  db.transaction(() => {
    db.spendUnusedTokens(request.identity, now);
    db.insertToken({ hash: hashToken(token), identity: request.identity, role: request.role, createdAt: now.toISOString(), expires, usedAt: null });
  });
  await db.flush();
  await writeFileAtomic(join(request.dir, TOKEN_FILE), token, 0o600);
  log.info('token_minted', { ...who, expires });
}

/** DIR/tls.crt's inventory record when it is this CA's, valid now, not revoked, and for this identity and role. */
async function enrolledCertificate(request: EnrollmentRequest, authority: Authority, db: CaDatabase, now: Date): Promise<CertificateRecord | undefined> {
  const pem = await readIfPresent(join(request.dir, CERTIFICATE_FILE));
  if (pem === undefined) return undefined;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  if (!isIssuedBy(certificate, authority.certificate) || now > certificate.validToDate) return undefined;
  const record = db.findCertificate(certificate.fingerprint256);
  const matches = record?.identity === request.identity && record.role === request.role && record.status !== 'revoked';
  return matches ? record : undefined;
}
