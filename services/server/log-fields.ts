import type { X509Certificate } from 'node:crypto';
import { summarizeCertificate, type CertificateSummary } from '../../core/certificate.ts';

// Names and subjects come from certificates, which a client chooses: a log line
// carries the start of a long one and its length, not kilobytes of it.
const MAX_LOGGED_CHARACTERS = 256;

export function capped(text: string): string {
  return text.length <= MAX_LOGGED_CHARACTERS ? text : `${text.slice(0, MAX_LOGGED_CHARACTERS)}… (${text.length} characters)`;
}

/** A certificate as a log line shows it, with every name capped. */
export function loggedCertificate(cert: X509Certificate): CertificateSummary {
  const summary = summarizeCertificate(cert);
  return { ...summary, subject: capped(summary.subject), issuer: capped(summary.issuer), subjectAltNames: summary.subjectAltNames.map(capped) };
}

/** What a ca.crt trusts, for a log line: each CA's subject and fingerprint. */
export function loggedTrust(ca: readonly X509Certificate[]): { subject: string; fingerprint256: string }[] {
  return ca.map((cert) => ({ subject: capped(summarizeCertificate(cert).subject), fingerprint256: cert.fingerprint256 }));
}
