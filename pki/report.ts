import type { CertificateSummary } from '../services/shared/certificate.ts';
import { describeKeySpec } from './keys.ts';
import type { Outcome, PkiResult } from './issue.ts';

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

function formatOutcome({ identity, action, reason, certificate }: Outcome, width: number): string[] {
  const header = `  ${identity.padEnd(width)}${action.padEnd(8)}(${reason})`;
  if (certificate === undefined) return [header];
  return [
    header,
    `  ${''.padEnd(width)}${describe(certificate)}`,
    `  ${''.padEnd(width)}valid ${day(certificate.validFrom)} → ${day(certificate.validTo)}  SHA-256 ${certificate.fingerprint256}`,
  ];
}

function describe(certificate: CertificateSummary): string {
  const parts = [certificate.subject];
  if (certificate.subjectAltNames.length > 0) parts.push(certificate.subjectAltNames.join(', '));
  if (certificate.extendedKeyUsage.length > 0) parts.push(`EKU ${certificate.extendedKeyUsage.join('+')}`);
  if (certificate.subject !== certificate.issuer) parts.push(`issuer ${certificate.issuer}`);
  return parts.join(' · ');
}

function day(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
