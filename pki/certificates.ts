// The PKI's policy on top of the shared builder: how long certificates last,
// and which requests the CA agrees to sign.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { CLOCK_SKEW_MS } from '../core/clock-skew.ts';
import { formatSubjectName, type SubjectName } from '../core/names.ts';
import { createCsr as buildCsr, CsrError, issueCertificate, parseCsr, type ParsedCsr } from '../core/x509.ts';

/** What a leaf may be used for; the issuer decides this, never the requester. */
export type Profile = 'server' | 'client' | 'server+client';

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** A signing CA: its certificate (PEM) and private key. */
export interface Issuer {
  certificatePem: string;
  key: KeyObject;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** From a little before now, for `days` days. */
export function validity(now: Date, days: number): Validity {
  return { notBefore: new Date(now.getTime() - CLOCK_SKEW_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

/** The same range, ending no later than `notAfter` (a leaf never outlasts its CA). */
export function clampTo(range: Validity, notAfter: Date): Validity {
  return { notBefore: range.notBefore, notAfter: range.notAfter > notAfter ? notAfter : range.notAfter };
}

/** The first DNS name names the identity (its CN); the CN is only a label, TLS checks the SANs. */
export function commonNameOf(names: readonly SubjectName[], fallback: string): string {
  return names.find((name) => name.type === 'dns')?.value ?? fallback;
}

/** A root CA: may sign certificates (and CRLs), but no intermediate CAs below it (pathLen 0). */
export function createCaCertificate(commonName: string, key: KeyObject, validity: Validity): string {
  return issueCertificate({ profile: 'ca', commonName, names: [], publicKey: key, subjectKey: key, ...validity });
}

/** A certificate signing request: the requester names itself and proves it holds the key. */
export function createCsr(commonName: string, names: readonly SubjectName[], key: KeyObject): string {
  return buildCsr({ key, commonName, names });
}

/** Who the CA was asked to certify: the subject and names it has agreed to. */
export interface Approved {
  commonName: string;
  names: readonly SubjectName[];
}

/**
 * The CA's side of a CSR: check the requester's signature, check that it asks
 * for exactly the identity the CA approved (a requester never names itself
 * into another identity), and apply the CA's own profile (key usages, basic
 * constraints). Throws CsrError (code ECSR) when it refuses.
 */
export function issueFromCsr(csrPem: string, profile: Profile, issuer: Issuer, validity: Validity, approved: Approved): string {
  // Serving and connecting with one certificate is method2's self-signed identity; a CA signs one role per key.
  if (profile === 'server+client') throw new CsrError('the CA signs a server or a client certificate, not both in one');
  const request = parseCsr(csrPem);
  checkRequest(request, approved);
  return issueCertificate({
    profile,
    commonName: approved.commonName,
    names: approved.names,
    publicKey: request.publicKey,
    issuer: { certificate: new X509Certificate(issuer.certificatePem), key: issuer.key },
    ...validity,
  });
}

function checkRequest(request: ParsedCsr, approved: Approved): void {
  if (request.subject !== `CN=${approved.commonName}`) {
    throw new CsrError(`the CSR asks for subject ${request.subject || '(empty)'}, not CN=${approved.commonName}: refusing to sign it`);
  }
  if (request.names.length === 0) throw new CsrError('the CSR requests no subjectAltName: modern TLS clients ignore the CN');
  if (!sameNames(request.names, approved.names)) {
    const list = (names: readonly SubjectName[]) => names.map(formatSubjectName).join(', ');
    throw new CsrError(`the CSR asks for ${list(request.names)}, not ${list(approved.names)}: refusing to sign it`);
  }
}

/** One certificate that signs itself: method2's shared identity and trust anchor. */
export function createSelfSigned(commonName: string, names: readonly SubjectName[], key: KeyObject, validity: Validity): string {
  return issueCertificate({ profile: 'self-signed-both', commonName, names, publicKey: key, subjectKey: key, ...validity });
}

/** Whether two name lists hold the same names, in any order (the PKI's test of a CSR and of a kept leaf). */
export function sameNames(a: readonly SubjectName[], b: readonly SubjectName[]): boolean {
  const left = new Set(a.map(formatSubjectName));
  const right = new Set(b.map(formatSubjectName));
  return left.size === right.size && [...left].every((name) => right.has(name));
}
