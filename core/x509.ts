// One certificate builder for every key type (RSA, ECDSA P-256/P-384, Ed25519).
// node-forge writes the ASN.1 (it cannot handle EC or Ed25519 keys itself);
// node:crypto makes the keys, exports the SubjectPublicKeyInfo and signs.
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import {
  bytesOf,
  children,
  contextSpecific,
  fromDer,
  isContextSpecific,
  oidOf,
  publicKeyInfo,
  publicKeyOf,
  sequence,
  time,
  toPem,
  unsignedInteger,
  type Asn1,
} from './der.ts';
import { normalizeSerial } from './certificate.ts';
import { allowsKeyEncipherment, signatureAlgorithmOf } from './key-types.ts';
import type { SubjectName } from './names.ts';
import {
  algorithmIdentifier,
  authorityKeyIdentifierExtension,
  extensions,
  keyIdentifierExtension,
  nameOf,
  signed,
  subjectAltName,
  X509Error,
  type ExtensionSpec,
} from './x509-parts.ts';

export { describeKey, describeKeySpec, generateKey, KEY_TYPES, KeyTypeError, privateKeyToPem, type KeySpec, type KeyType } from './key-types.ts';
export { createCsr, CsrError, parseCsr, type ParsedCsr } from './csr.ts';
export { X509Error } from './x509-parts.ts';

/**
 * What a certificate is for. The issuer's profile decides every extension; a
 * CSR never does. 'self-signed-both' is method2's single certificate: one
 * identity that serves, connects, and is its own trust anchor.
 */
export type Profile = 'ca' | 'server' | 'client' | 'self-signed-both';

/** A signing CA. */
export interface Issuer {
  certificate: X509Certificate;
  key: KeyObject;
}

export interface CertificateInput {
  profile: Profile;
  commonName: string;
  /** The subjectAltName: required for server and client certificates, none for a CA. */
  names: readonly SubjectName[];
  publicKey: KeyObject;
  /** Who signs; omitted for a self-signed certificate ('ca' or 'self-signed-both'), which `subjectKey` signs. */
  issuer?: Issuer;
  subjectKey?: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** Positive, big-endian; 16 random bytes when omitted. */
  serial?: Buffer;
}

const SERVER_AUTH = { serverAuth: true };
const CLIENT_AUTH = { clientAuth: true };

/** Issues an X.509 v3 certificate; returns it as PEM. */
export function issueCertificate(request: CertificateInput): string {
  return signCertificate(request).pem;
}

/** A certificate just signed, with what a CA records of it and would otherwise parse back out. */
export interface SignedCertificate {
  pem: string;
  der: Buffer;
  /** As X509Certificate#serialNumber spells it. */
  serial: string;
}

/** Issues an X.509 v3 certificate (see issueCertificate), with its DER and serial. */
export function signCertificate(request: CertificateInput): SignedCertificate {
  checkValidity(request);
  const serial = request.serial ?? randomSerial();
  const subject = publicKeyInfo(request.publicKey);
  const signer = signerOf(request, subject.der);
  const algorithm = signatureAlgorithmOf(signer.key);
  const tbs = sequence([
    contextSpecific(0, true, [unsignedInteger(Buffer.of(2))]),
    unsignedInteger(serial),
    algorithmIdentifier(algorithm),
    signer.name ?? nameOf(request.commonName),
    sequence([time(request.notBefore), time(request.notAfter)]),
    nameOf(request.commonName),
    subject.asn1,
    contextSpecific(3, true, [extensions(profileExtensions(request, subject.keyIdentifier, signer.keyIdentifier ?? subject.keyIdentifier))]),
  ]);
  const der = signed(tbs, signer.key, algorithm);
  return { pem: toPem('CERTIFICATE', der), der, serial: normalizeSerial(serial.toString('hex')) };
}

interface Signer {
  key: KeyObject;
  /** The issuer's subject, byte for byte; undefined when self-signed. */
  name: Asn1 | undefined;
  keyIdentifier: Buffer | undefined;
}

function signerOf(request: CertificateInput, subjectSpki: Buffer): Signer {
  const selfSigned = request.profile === 'ca' || request.profile === 'self-signed-both';
  if (request.issuer === undefined) {
    if (!selfSigned) throw new X509Error(`a ${request.profile} certificate needs an issuer (only 'ca' and 'self-signed-both' sign themselves)`);
    const key = request.subjectKey;
    if (key === undefined) throw new X509Error('a self-signed certificate needs subjectKey, the private key of publicKey');
    if (!publicKeyInfo(key).der.equals(subjectSpki)) throw new X509Error('subjectKey is not the private key of publicKey');
    return { key, name: undefined, keyIdentifier: undefined };
  }
  // This PKI's CAs have pathlen 0: no CA below them, and method2's certificate signs only itself.
  if (selfSigned) throw new X509Error(`a ${request.profile} certificate is self-signed here; it takes no issuer`);
  const { certificate, key } = request.issuer;
  const fields = issuerFields(certificate);
  if (!fields.matchingKeys.has(key)) {
    if (!certificate.checkPrivateKey(key)) throw new X509Error("the issuer's key does not match its certificate");
    fields.matchingKeys.add(key);
  }
  return { key, name: fields.name, keyIdentifier: fields.keyIdentifier };
}

/** What issuance needs from a CA certificate, read once per X509Certificate (a CA signs thousands of leaves). */
interface IssuerFields {
  name: Asn1;
  keyIdentifier: Buffer;
  /** Private keys already shown to belong to the certificate. */
  matchingKeys: WeakSet<KeyObject>;
}

// Keyed by the X509Certificate object, which cannot change: another CA, even one
// with the same subject, is another object and is read afresh.
const issuerCache = new WeakMap<X509Certificate, IssuerFields>();

export function issuerFields(certificate: X509Certificate): IssuerFields {
  let fields = issuerCache.get(certificate);
  if (fields === undefined) {
    if (!certificate.ca) throw new X509Error(`the issuer ${certificate.subject.trim()} is not a CA certificate`);
    fields = { ...readIssuerFields(certificate), matchingKeys: new WeakSet() };
    issuerCache.set(certificate, fields);
  }
  return fields;
}

/** The issuer's subject (copied, so the chain's names match exactly) and its own key identifier. */
function readIssuerFields(certificate: X509Certificate): { name: Asn1; keyIdentifier: Buffer } {
  const tbs = children(children(fromDer(certificate.raw))[0]);
  const fields = isContextSpecific(tbs[0], 0) ? tbs.slice(1) : tbs;
  const name = fields[4];
  if (name === undefined) throw new X509Error('the issuer certificate has no subject');
  const extensionList = children(children(tbs.find((field) => isContextSpecific(field, 3)))[0]);
  const ski = extensionList.find((extension) => oidOf(children(extension)[0]) === '2.5.29.14');
  const keyIdentifier = ski === undefined ? publicKeyInfo(certificate.publicKey).keyIdentifier : bytesOf(fromDer(bytesOf(children(ski).at(-1))));
  return { name, keyIdentifier };
}

function profileExtensions(request: CertificateInput, subjectKeyIdentifier: Buffer, authorityKeyIdentifier: Buffer): ExtensionSpec[] {
  const ownKeyIdentifier = keyIdentifierExtension(subjectKeyIdentifier);
  if (request.profile === 'ca') {
    if (request.names.length > 0) throw new X509Error('a CA certificate names no hosts: pass names: []');
    return [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ownKeyIdentifier,
    ];
  }
  if (request.names.length === 0) throw new X509Error(`a ${request.profile} certificate needs at least one name (TLS checks the subjectAltName, not the CN)`);
  const usage = request.profile === 'server' ? SERVER_AUTH : request.profile === 'client' ? CLIENT_AUTH : { ...SERVER_AUTH, ...CLIENT_AUTH };
  return [
    { name: 'basicConstraints', cA: false, critical: true },
    // keyEncipherment only where the key can decrypt: RSA. ECDSA and Ed25519 keys only sign.
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: allowsKeyEncipherment(publicKeyOf(request.publicKey)), critical: true },
    { name: 'extKeyUsage', ...usage },
    subjectAltName(request.names),
    ownKeyIdentifier,
    authorityKeyIdentifierExtension(authorityKeyIdentifier),
  ];
}

function checkValidity({ notBefore, notAfter }: CertificateInput): void {
  if (!(notBefore.getTime() < notAfter.getTime())) {
    throw new X509Error(`notBefore ${notBefore.toISOString()} is not before notAfter ${notAfter.toISOString()}`);
  }
}

/** 16 random bytes, top bit clear (a positive INTEGER) and first byte non-zero (always 16 bytes long). */
function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes;
}
