// PKCS#10 certification requests (RFC 2986), written with node-forge's ASN.1
// and signed and checked with node:crypto, for every key type.
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import {
  bytesOf,
  children,
  contextSpecific,
  fromDer,
  fromPem,
  isContextSpecific,
  oidOf,
  publicKeyFromSpki,
  publicKeyInfo,
  rawElements,
  sequence,
  set,
  toPem,
  oid,
  unsignedInteger,
  type Asn1,
} from './der.ts';
import { MtlsError } from './errors.ts';
import { describeKey, KeyTypeError, signatureAlgorithmByOid, verifyWith } from './key-types.ts';
import type { SubjectName } from './names.ts';
import { extensions, nameOf, signed, subjectAltName } from './x509-parts.ts';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SUBJECT_ALT_NAME = '2.5.29.17';
const SHORT_NAMES: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST' };

/** A CSR we refuse to read; `message` is one line that says why. */
export class CsrError extends MtlsError {
  readonly code = 'ECSR';
}

/** A CSR signed by `key` (proof of possession), asking for CN=commonName and these names. */
export function createCsr(input: { key: KeyObject; commonName: string; names: readonly SubjectName[] }): string {
  const requested = input.names.length === 0 ? [] : [attribute(EXTENSION_REQUEST, extensions([subjectAltName(input.names)]))];
  const info = sequence([
    unsignedInteger(Buffer.of(0)), // version 1
    nameOf(input.commonName),
    publicKeyInfo(input.key).asn1,
    contextSpecific(0, true, requested),
  ]);
  return toPem('CERTIFICATE REQUEST', signed(info, input.key));
}

function attribute(type: string, value: Asn1): Asn1 {
  return sequence([oid(type), set([value])]);
}

/** What a verified CSR asks for. */
export interface ParsedCsr {
  /** The subject's CN when the subject is exactly one CN, else undefined (see `subject`). */
  commonName: string | undefined;
  /** The whole subject, one line: "CN=client" or "CN=client, O=Example". */
  subject: string;
  names: SubjectName[];
  publicKey: KeyObject;
  /** "RSA-2048", "ECDSA P-256", "Ed25519". */
  keyDescription: string;
}

/**
 * Reads a PEM CSR and checks its self-signature with node:crypto; throws
 * CsrError for anything malformed, any key we do not accept, or a signature
 * that does not verify.
 */
export function parseCsr(pem: string): ParsedCsr {
  const der = fromPem(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  if (der === undefined) throw new CsrError('not a PEM certificate request (no "BEGIN CERTIFICATE REQUEST" block)');
  const [infoDer, algorithmDer, signatureDer, ...extra] = malformedAsCsrError(() => rawElements(der));
  if (infoDer === undefined || algorithmDer === undefined || signatureDer === undefined || extra.length > 0) {
    throw new CsrError('not a certificate request (expected info, algorithm and signature)');
  }
  // The key goes to node:crypto as the bytes received; only the other fields need forge's reader.
  const [versionDer, subjectDer, spkiDer, attributesDer] = malformedAsCsrError(() => rawElements(infoDer));
  const [version, subject, attributes] = [versionDer, subjectDer, attributesDer].map((part) => (part === undefined ? undefined : malformedAsCsrError(() => fromDer(part))));
  if (bytesOf(version).toString('hex') !== '00') throw new CsrError('not a version 1 certificate request');
  const publicKey = readPublicKey(spkiDer);
  const keyDescription = readableKey(publicKey);
  checkSignature(publicKey, infoDer, malformedAsCsrError(() => fromDer(algorithmDer)), malformedAsCsrError(() => fromDer(signatureDer)));
  const rdns = readSubject(subject);
  const commonName = rdns.length === 1 && rdns[0]?.startsWith('CN=') ? rdns[0].slice(3) : undefined;
  return { commonName, subject: rdns.join(', '), names: requestedNames(attributes), publicKey, keyDescription };
}

function malformedAsCsrError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new CsrError(`not a valid certificate request (malformed DER: ${(error as Error).message.split('\n')[0]})`, { cause: error });
  }
}

function readPublicKey(spki: Buffer | undefined): KeyObject {
  try {
    return publicKeyFromSpki(spki as Buffer);
  } catch (error) {
    throw new CsrError('its public key cannot be read', { cause: error });
  }
}

function readableKey(publicKey: KeyObject): string {
  try {
    return describeKey(publicKey);
  } catch (error) {
    if (error instanceof KeyTypeError) throw new CsrError(`its key is refused: ${error.message}`, { cause: error });
    throw error;
  }
}

function checkSignature(publicKey: KeyObject, infoDer: Buffer, algorithmNode: Asn1, signatureNode: Asn1): void {
  const [algorithmOid, parameters, ...more] = children(algorithmNode);
  const algorithm = signatureAlgorithmByOid(oidOf(algorithmOid));
  if (algorithm === undefined) throw new CsrError(`its signature algorithm ${oidOf(algorithmOid) ?? '(unreadable)'} is not accepted`);
  const nullParameters = parameters?.type === forge.asn1.Type.NULL;
  if (more.length > 0 || (parameters !== undefined && !nullParameters) || (nullParameters && !algorithm.nullParameters)) {
    throw new CsrError('its signature AlgorithmIdentifier carries parameters this algorithm does not have');
  }
  const bits = bytesOf(signatureNode);
  if (signatureNode.type !== forge.asn1.Type.BITSTRING || bits[0] !== 0) throw new CsrError('its signature is not a whole-byte BIT STRING');
  if (!verifyWith(publicKey, algorithm, infoDer, bits.subarray(1))) {
    throw new CsrError('the CSR signature does not verify with its own key (tampered, or the requester does not hold the key)');
  }
}

function readSubject(subject: Asn1 | undefined): string[] {
  return children(subject).flatMap((rdn) =>
    children(rdn).map((pair) => {
      const [type, value] = children(pair);
      const typeOid = oidOf(type) ?? '?';
      return `${SHORT_NAMES[typeOid] ?? typeOid}=${bytesOf(value).toString('utf8')}`;
    }),
  );
}

/** The subjectAltName the requester asked for in its extensionRequest; other requested extensions are ignored (the CA's profile decides). */
function requestedNames(attributes: Asn1 | undefined): SubjectName[] {
  if (!isContextSpecific(attributes, 0)) throw new CsrError('not a certificate request (no attributes)');
  const request = children(attributes).find((item) => oidOf(children(item)[0]) === EXTENSION_REQUEST);
  const requested = children(children(children(request)[1])[0]);
  const san = requested.find((extension) => oidOf(children(extension)[0]) === SUBJECT_ALT_NAME);
  if (san === undefined) return [];
  const value = children(san).at(-1);
  return children(malformedAsCsrError(() => fromDer(bytesOf(value)))).map(generalName);
}

function generalName(name: Asn1): SubjectName {
  const bytes = bytesOf(name);
  if (name.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && name.type === 2) {
    return { type: 'dns', value: bytes.toString('latin1').toLowerCase() };
  }
  if (name.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && name.type === 6) {
    return { type: 'uri', value: bytes.toString('latin1') };
  }
  if (name.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && name.type === 7 && (bytes.length === 4 || bytes.length === 16)) {
    return { type: 'ip', value: ipText(bytes) };
  }
  throw new CsrError(`the CSR requests an unsupported subjectAltName (type ${name.type})`);
}

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups = Array.from({ length: 8 }, (_, index) => bytes.readUInt16BE(index * 2).toString(16));
  const text = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
  return isIP(text) === 6 ? text : groups.join(':');
}
