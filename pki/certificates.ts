import { randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { formatSubjectName, sameNames, type SubjectName } from '../services/shared/names.ts';
import { toForgePublicKey } from './keys.ts';
import { signCertificate, signCsr, verifyCsrSignature } from './sign.ts';

/** What a certificate may be used for; the issuer decides this, never the requester. */
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

const EXTENDED_KEY_USAGE: Record<Profile, { serverAuth?: true; clientAuth?: true }> = {
  server: { serverAuth: true },
  client: { clientAuth: true },
  'server+client': { serverAuth: true, clientAuth: true },
};

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdated so that a peer whose clock is a little behind still accepts a fresh certificate.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

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
  const cert = newCertificate(commonName, key, validity);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, key);
  return toPem(forge.pki.certificateToPem(cert));
}

/** A certificate signing request: the requester names itself and proves it holds the key. */
export function createCsr(commonName: string, names: readonly SubjectName[], key: KeyObject): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = toForgePublicKey(key);
  csr.setSubject([{ name: 'commonName', value: commonName }]);
  csr.setAttributes([
    { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: names.map(toAltName) }] },
  ]);
  signCsr(csr, key);
  return toPem(forge.pki.certificationRequestToPem(csr));
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
 * constraints).
 */
export function issueFromCsr(csrPem: string, profile: Profile, issuer: Issuer, validity: Validity, approved: Approved): string {
  const csr = forge.pki.certificationRequestFromPem(csrPem);
  if (!verifyCsrSignature(csr)) throw new Error('the CSR signature does not verify: refusing to sign it');
  if (csr.publicKey === null) throw new Error('the CSR carries no public key');
  checkRequest(csr, approved);
  const caCert = forge.pki.certificateFromPem(issuer.certificatePem);
  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialNumber();
  cert.validity = validity;
  cert.publicKey = csr.publicKey;
  cert.setSubject([{ name: 'commonName', value: approved.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    ...leafExtensions(profile, approved.names.map(toAltName)),
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifier(caCert) },
  ]);
  signCertificate(cert, issuer.key);
  return toPem(forge.pki.certificateToPem(cert));
}

function checkRequest(csr: forge.pki.CertificateSigningRequest, approved: Approved): void {
  const subject = csr.subject.attributes.map((attribute) => `${attribute.shortName ?? attribute.name}=${String(attribute.value)}`);
  if (subject.length !== 1 || subject[0] !== `CN=${approved.commonName}`) {
    throw new Error(`the CSR asks for subject ${subject.join(', ') || '(empty)'}, not CN=${approved.commonName}: refusing to sign it`);
  }
  const requested = requestedNames(csr);
  if (!sameNames(requested, approved.names)) {
    const list = (names: readonly SubjectName[]) => names.map(formatSubjectName).join(', ');
    throw new Error(`the CSR asks for ${list(requested)}, not ${list(approved.names)}: refusing to sign it`);
  }
}

/** One certificate that signs itself: method2's shared identity and trust anchor. */
export function createSelfSigned(
  commonName: string,
  names: readonly SubjectName[],
  key: KeyObject,
  validity: Validity,
): string {
  const cert = newCertificate(commonName, key, validity);
  cert.setIssuer(cert.subject.attributes);
  const ownKeyIdentifier = cert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    ...leafExtensions('server+client', names.map(toAltName)),
    { name: 'authorityKeyIdentifier', keyIdentifier: ownKeyIdentifier },
  ]);
  signCertificate(cert, key);
  return toPem(forge.pki.certificateToPem(cert));
}

/** forge writes PEM with CRLF line ends; OpenSSL and Node write LF. */
function toPem(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

function newCertificate(commonName: string, key: KeyObject, validity: Validity): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = randomSerialNumber();
  cert.validity = validity;
  cert.publicKey = toForgePublicKey(key);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  return cert;
}

function leafExtensions(profile: Profile, altNames: AltName[]): object[] {
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...EXTENDED_KEY_USAGE[profile] },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
  ];
}

/**
 * 16 random bytes as a positive DER INTEGER: forge writes the hex as given, so
 * a set top bit would make the serial negative, and a leading zero byte would
 * not be minimal DER.
 */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/**
 * The issuer's own key identifier, copied into the leaf's authorityKeyIdentifier.
 * forge's `keyIdentifier: true` would hash the leaf's key instead, and OpenSSL
 * could then not find the issuer.
 */
function subjectKeyIdentifier(caCert: forge.pki.Certificate): string {
  const extension = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (extension?.subjectKeyIdentifier !== undefined) return forge.util.hexToBytes(extension.subjectKeyIdentifier);
  return caCert.generateSubjectKeyIdentifier().getBytes();
}

type AltName = { type: 2; value: string } | { type: 7; ip: string };

function toAltName(name: SubjectName): AltName {
  return name.type === 'dns' ? { type: 2, value: name.value } : { type: 7, ip: name.value };
}

/** The subjectAltName the requester asked for in its extensionRequest. */
function requestedNames(csr: forge.pki.CertificateSigningRequest): SubjectName[] {
  const request = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: ForgeExtension[] } | null;
  const san = request?.extensions?.find((extension) => extension.name === 'subjectAltName');
  const names: SubjectName[] = [];
  for (const altName of san?.altNames ?? []) {
    if (altName.type === 2 && altName.value !== undefined) names.push({ type: 'dns', value: altName.value.toLowerCase() });
    else if (altName.type === 7 && altName.ip !== undefined) names.push({ type: 'ip', value: altName.ip });
    else throw new Error(`the CSR requests an unsupported subjectAltName (type ${altName.type})`);
  }
  if (names.length === 0) throw new Error('the CSR requests no subjectAltName: modern TLS clients ignore the CN');
  return names;
}

interface ForgeExtension {
  name?: string;
  altNames?: { type: number; value?: string; ip?: string }[];
}
