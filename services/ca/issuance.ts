import { LEAF_BACKDATE_MS } from '../../core/clock-skew.ts';
import { fingerprint256 } from '../../core/key-fingerprint.ts';
import { signCertificate } from '../../core/x509.ts';
import type { Authority } from './authority.ts';
import type { CaContext, IssuedResponse } from './context.ts';
import type { CsrInput } from './csr-input.ts';
import type { CertificateRecord, IssuedVia } from './database.ts';
import { profileOf, type CaRole } from './roles.ts';

/** What the CA has decided to certify: the identity and role come from the token or the presented certificate, never from the CSR. */
export interface Issuance {
  identity: string;
  role: CaRole;
  /** The verified CSR: its key is the only thing it decides. */
  request: CsrInput;
  via: IssuedVia;
  renewedFrom?: string;
}

export interface IssuedCertificate {
  pem: string;
  record: CertificateRecord;
}

/**
 * Signs a leaf with the CA's profile for the role: CN and the one DNS name are
 * the identity, the role decides the extended key usage, and the certificate
 * lives `ttlMs` (never past the CA's own end).
 */
export function signLeaf(authority: Authority, ttlMs: number, issuance: Issuance, now: Date): IssuedCertificate {
  const validity = leafValidity(now, ttlMs, authority.certificate.validToDate);
  const signed = signCertificate({
    profile: profileOf(issuance.role),
    commonName: issuance.identity,
    names: [{ type: 'dns', value: issuance.identity }],
    publicKey: issuance.request.csr.publicKey,
    issuer: authority,
    ...validity,
  });
  // Recorded from what was signed, not parsed back from it (a renewal's hot path): test/ca-issuance checks both agree.
  const record = recordOf(issuance, now, { serial: signed.serial, fingerprint256: fingerprint256(signed.der), ...validity });
  return { pem: signed.pem, record };
}

export function leafValidity(now: Date, ttlMs: number, caNotAfter: Date): { notBefore: Date; notAfter: Date } {
  const notAfter = new Date(Math.min(now.getTime() + ttlMs, caNotAfter.getTime()));
  return { notBefore: new Date(now.getTime() - LEAF_BACKDATE_MS), notAfter };
}

/** The certificate's facts: its serial, its fingerprint, and the validity it was signed with. */
interface Signed {
  serial: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
}

function recordOf(issuance: Issuance, now: Date, signed: Signed): CertificateRecord {
  return {
    serial: signed.serial,
    identity: issuance.identity,
    role: issuance.role,
    notBefore: wholeSeconds(signed.notBefore),
    notAfter: wholeSeconds(signed.notAfter),
    keyFingerprint256: issuance.request.keyFingerprint256,
    fingerprint256: signed.fingerprint256,
    status: 'issued',
    issuedAt: now.toISOString(),
    issuedVia: issuance.via,
    renewedFrom: issuance.renewedFrom ?? null,
    revokedAt: null,
    revocationReason: null,
  };
}

/** A certificate's times have whole seconds (UTCTime): what X509Certificate#validFromDate would read back. */
function wholeSeconds(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
}

export function responseOf(context: CaContext, issued: Pick<IssuedCertificate, 'pem' | 'record'>): IssuedResponse {
  return {
    certificate: issued.pem,
    ca: context.authority.certificatePem,
    serial: issued.record.serial,
    notBefore: issued.record.notBefore,
    notAfter: issued.record.notAfter,
  };
}
