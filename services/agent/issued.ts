import type { KeyObject, X509Certificate } from 'node:crypto';
import { namesFromSubjectAltName } from '../../core/names.ts';
import { certificateProblems, isIssuedBy, parseCertificates, TlsMaterialError, type Role } from '../../core/tls-material.ts';
import type { Issued } from './ca-client.ts';
import { MtlsError } from '../../core/errors.ts';

/** The CA's answer cannot be installed; nothing was swapped. */
export class IssuedCertificateError extends MtlsError {
  readonly code = 'CERTIFICATE_UNUSABLE';
}

export interface Expected {
  identity: string;
  role: Role;
  /** The CA certificates we trust: what the issued certificate must chain to. */
  trust: X509Certificate[];
}

/**
 * Checks an issued certificate before it replaces a working one: it belongs
 * to the key we just generated, a CA we trust signed it, it is valid now for
 * our role, and it names our identity. A workload is never handed a
 * certificate its peers would refuse.
 */
export function checkIssued(issued: Issued, key: KeyObject, expected: Expected, now: Date): X509Certificate {
  const [certificate] = parse('the issued certificate', issued.certificatePem);
  parse('the CA bundle', issued.caPem);
  if (certificate === undefined) throw new IssuedCertificateError('the CA answered without a certificate');
  if (!certificate.checkPrivateKey(key)) throw new IssuedCertificateError('the issued certificate is not for the key this agent generated');
  if (!expected.trust.some((ca) => isIssuedBy(certificate, ca))) {
    throw new IssuedCertificateError(`the issued certificate (issuer ${oneLine(certificate.issuer)}) is not signed by a CA this agent trusts`);
  }
  const [problem] = certificateProblems(certificate, expected.role, now);
  if (problem !== undefined) throw new IssuedCertificateError(`the issued certificate is ${problem}`);
  const names = dnsNames(certificate);
  if (!names.includes(expected.identity)) {
    throw new IssuedCertificateError(`the issued certificate names ${names.join(', ') || 'no DNS name'}, not "${expected.identity}"`);
  }
  return certificate;
}

function parse(what: string, pem: string): X509Certificate[] {
  try {
    return parseCertificates(what, pem);
  } catch (error) {
    throw new IssuedCertificateError(error instanceof TlsMaterialError ? error.message : `${what}: ${String(error)}`);
  }
}

/** Peers check the SANs (a server's host name, a client's allowed name), so that is where our identity must be. */
function dnsNames(certificate: X509Certificate): string[] {
  return namesFromSubjectAltName(certificate.subjectAltName)
    .filter((name) => name.type === 'dns')
    .map((name) => name.value);
}

function oneLine(name: string): string {
  return name.trim().split('\n').join(', ');
}
