import { X509Certificate } from 'node:crypto';
import { formatSubjectName, namesFromSubjectAltName } from './names.ts';

export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const PURPOSE_NAMES: Record<string, string> = { [SERVER_AUTH]: 'serverAuth', [CLIENT_AUTH]: 'clientAuth' };

/** What a person (or a log line) needs to know about a certificate. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  extendedKeyUsage: string[];
  serialNumber: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
}

export function summarizeCertificate(cert: X509Certificate): CertificateSummary {
  return {
    subject: oneLineName(cert.subject),
    issuer: oneLineName(cert.issuer),
    subjectAltNames: namesFromSubjectAltName(cert.subjectAltName).map(formatSubjectName),
    extendedKeyUsage: extendedKeyUsage(cert).map((oid) => PURPOSE_NAMES[oid] ?? oid),
    serialNumber: cert.serialNumber,
    validFrom: cert.validFromDate.toISOString(),
    validTo: cert.validToDate.toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * The extendedKeyUsage OIDs; empty when the extension is absent (which TLS
 * treats as "any purpose"). Node names this property `keyUsage`, but it
 * holds the EKU.
 */
export function extendedKeyUsage(cert: X509Certificate): string[] {
  return cert.keyUsage ?? [];
}

/** Whether the certificate may be used for this TLS purpose (absent EKU allows any). */
export function allowsPurpose(cert: X509Certificate, purposeOid: string): boolean {
  const usages = extendedKeyUsage(cert);
  return usages.length === 0 || usages.includes(purposeOid);
}

/** "CN=server" rather than Node's multi-line "CN=server\n". */
function oneLineName(name: string): string {
  return name.split('\n').filter((part) => part !== '').join(', ');
}

/** Uppercase hex without leading zeros: one spelling for a serial, whoever printed it. */
export function normalizeSerial(hex: string): string {
  return hex.replace(/^(00)+/, '').toUpperCase() || '0';
}
