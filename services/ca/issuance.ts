import { X509Certificate } from 'node:crypto';
import { LEAF_BACKDATE_MS } from '../../core/clock-skew.ts';
import { issueCertificate } from '../../core/x509.ts';
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
  certificate: X509Certificate;
  record: CertificateRecord;
}

/**
 * Signs a leaf with the CA's profile for the role: CN and the one DNS name are
 * the identity, the role decides the extended key usage, and the certificate
 * lives `ttlMs` (never past the CA's own end).
 */
export function signLeaf(authority: Authority, ttlMs: number, issuance: Issuance, now: Date): IssuedCertificate {
  const pem = issueCertificate({
    profile: profileOf(issuance.role),
    commonName: issuance.identity,
    names: [{ type: 'dns', value: issuance.identity }],
    publicKey: issuance.request.csr.publicKey,
    issuer: authority,
    ...leafValidity(now, ttlMs, authority.certificate.validToDate),
  });
  const certificate = new X509Certificate(pem);
  return { pem, certificate, record: recordOf(certificate, issuance, now) };
}

export function leafValidity(now: Date, ttlMs: number, caNotAfter: Date): { notBefore: Date; notAfter: Date } {
  const notAfter = new Date(Math.min(now.getTime() + ttlMs, caNotAfter.getTime()));
  return { notBefore: new Date(now.getTime() - LEAF_BACKDATE_MS), notAfter };
}

function recordOf(certificate: X509Certificate, issuance: Issuance, now: Date): CertificateRecord {
  return {
    serial: certificate.serialNumber,
    identity: issuance.identity,
    role: issuance.role,
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
    keyFingerprint256: issuance.request.keyFingerprint256,
    fingerprint256: certificate.fingerprint256,
    status: 'issued',
    issuedAt: now.toISOString(),
    issuedVia: issuance.via,
    renewedFrom: issuance.renewedFrom ?? null,
    revokedAt: null,
    revocationReason: null,
  };
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
