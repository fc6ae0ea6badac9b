import type { CertificateSummary } from '../core/certificate.ts';
import { describeKeySpec } from '../core/x509.ts';
import type { Outcome, PkiResult } from './outcome.ts';

/** A few lines a person can read: what was issued or kept, for whom, until when, and its fingerprint. */
export function formatReport(result: PkiResult): string {
  const { options, outcomes } = result;
  const validity = options.method === 'method1' ? `CA ${options.days} days, leaves ${options.leafDays} days` : `${options.days} days`;
  const lines = [`${options.method} → ${options.out} (${describeKeySpec(options.key)}, ${validity})`];
  const width = Math.max(...outcomes.map((outcome) => outcome.identity.length)) + 2;
  for (const outcome of outcomes) lines.push(...formatOutcome(outcome, width));
  const issued = outcomes.filter((outcome) => outcome.action === 'issued').length;
  lines.push(
    issued === 0
      ? 'Nothing changed: every certificate is valid and current.'
      : `${issued} issued, ${outcomes.length - issued} kept.`,
  );
  return lines.join('\n');
}

/** What --json prints: the run's settings and, per identity, what happened and why. */
export interface PkiDocument {
  method: string;
  out: string;
  /** The key type of this run's certificates: "RSA-2048", "ECDSA P-256", "Ed25519". */
  key: string;
  /** The CA's validity (method1) or the shared certificate's (method2), in days. */
  days: number;
  /** method1 leaves' validity in days; null for method2. */
  leafDays: number | null;
  identities: {
    identity: string;
    action: Outcome['action'];
    reason: string;
    /** What the folder presents; null for one that only trusts. */
    certificate: CertificateSummary | null;
  }[];
}

/** One line of JSON, for scripts: they read it by key. */
export function formatReportJson({ options, outcomes }: PkiResult): string {
  const document: PkiDocument = {
    method: options.method,
    out: options.out,
    key: describeKeySpec(options.key),
    days: options.days,
    leafDays: options.method === 'method1' ? options.leafDays : null,
    identities: outcomes.map(({ identity, action, reason, certificate }) => ({ identity, action, reason, certificate: certificate ?? null })),
  };
  return JSON.stringify(document);
}

function formatOutcome({ identity, action, reason, certificate }: Outcome, width: number): string[] {
  const header = `  ${identity.padEnd(width)}${action.padEnd(8)}(${reason})`;
  if (certificate === undefined) return [header];
  return [
    header,
    `  ${''.padEnd(width)}${describeCertificate(certificate)}`,
    `  ${''.padEnd(width)}valid ${day(certificate.validFrom)} → ${day(certificate.validTo)}  SHA-256 ${certificate.fingerprint256}`,
  ];
}

/** One line: subject · SANs · EKU · issuer (when not self-signed). */
export function describeCertificate(certificate: CertificateSummary): string {
  const parts = [certificate.subject];
  if (certificate.subjectAltNames.length > 0) parts.push(certificate.subjectAltNames.join(', '));
  if (certificate.extendedKeyUsage.length > 0) parts.push(`EKU ${certificate.extendedKeyUsage.join('+')}`);
  if (certificate.subject !== certificate.issuer) parts.push(`issuer ${certificate.issuer}`);
  return parts.join(' · ');
}

function day(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
