// The few DER building blocks the certificate and CSR builders share. node-forge
// writes and reads the ASN.1; these helpers only name what its API leaves generic.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

// Public in node-forge, missing from its type definitions (or typed too narrowly).
const forgeAsn1 = asn1 as typeof asn1 & {
  fromDer(bytes: string, options: { strict: boolean; decodeBitStrings: boolean }): Asn1;
};
export const forgePki = forge.pki as typeof forge.pki & {
  certificateExtensionsToAsn1(extensions: object[]): Asn1;
};

export function sequence(items: Asn1[]): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
}

export function set(items: Asn1[]): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);
}

export function oid(value: string): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(value).getBytes());
}

/** A non-negative INTEGER from its big-endian bytes, minimal as DER wants it. */
export function unsignedInteger(bytes: Buffer): Asn1 {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const value = (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed;
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, binary(value.length === 0 ? Buffer.of(0) : value));
}

export function octetString(bytes: Buffer): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, binary(bytes));
}

/** A BIT STRING holding whole bytes (a signature): no unused bits. */
export function bitString(bytes: Buffer): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${binary(bytes)}`);
}

export function contextSpecific(tag: number, constructed: boolean, value: Asn1[] | string): Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, constructed, value);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function time(date: Date): Asn1 {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/** Parses strictly, and leaves BIT STRINGs as bytes (a key or a signature is not nested ASN.1). */
export function fromDer(der: Buffer): Asn1 {
  return forgeAsn1.fromDer(binary(der), { strict: true, decodeBitStrings: false });
}

export function children(node: Asn1 | undefined): Asn1[] {
  return Array.isArray(node?.value) ? node.value : [];
}

export function bytesOf(node: Asn1 | undefined): Buffer {
  return typeof node?.value === 'string' ? Buffer.from(node.value, 'binary') : Buffer.alloc(0);
}

export function oidOf(node: Asn1 | undefined): string | undefined {
  return node?.type === asn1.Type.OID && typeof node.value === 'string' ? asn1.derToOid(node.value) : undefined;
}

export function isContextSpecific(node: Asn1 | undefined, tag: number): boolean {
  return node?.tagClass === asn1.Class.CONTEXT_SPECIFIC && node.type === tag;
}

/**
 * The exact bytes of each element inside a DER SEQUENCE that spans `der`: what
 * a signature covers must be checked over the bytes received, not re-encoded.
 */
export function rawElements(der: Buffer): Buffer[] {
  const outer = readElement(der, 0);
  if (der[0] !== 0x30 || outer.end !== der.length) throw new Error('not a single DER SEQUENCE');
  const elements: Buffer[] = [];
  for (let offset = outer.contentStart; offset < outer.end; ) {
    const element = readElement(der, offset);
    if (element.end > outer.end) throw new Error('an element overruns its SEQUENCE');
    elements.push(der.subarray(offset, element.end));
    offset = element.end;
  }
  return elements;
}

function readElement(der: Buffer, offset: number): { contentStart: number; end: number } {
  const first = der[offset + 1];
  if (first === undefined || (der[offset] ?? 0x1f) % 0x20 === 0x1f) throw new Error('truncated or unsupported DER tag');
  let length = first;
  let position = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let index = 0; index < count; index++) length = length * 256 + (der[position++] ?? Number.NaN);
  }
  const end = position + length;
  if (!Number.isSafeInteger(end) || end > der.length) throw new Error('truncated DER');
  return { contentStart: position, end };
}

/** A key's SubjectPublicKeyInfo as node:crypto writes it, and its RFC 5280 key identifier. */
export interface PublicKeyInfo {
  asn1: Asn1;
  der: Buffer;
  /** SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1), as OpenSSL computes it. */
  keyIdentifier: Buffer;
}

// Per KeyObject, which cannot change: a CA reads a CSR's key for its fingerprint
// and again for the certificate. Callers only read what they get.
const publicKeyInfos = new WeakMap<KeyObject, PublicKeyInfo>();

export function publicKeyInfo(key: KeyObject): PublicKeyInfo {
  let info = publicKeyInfos.get(key);
  if (info === undefined) {
    info = readPublicKeyInfo(key);
    publicKeyInfos.set(key, info);
  }
  return info;
}

// The only DER encodings of these keys (named curve, uncompressed point): the
// bytes node:crypto writes for them. Exporting a key cost more than reading it.
const CANONICAL_SPKI = [
  { prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'), length: 91 }, // ECDSA P-256
  { prefix: Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex'), length: 120 }, // ECDSA P-384
  { prefix: Buffer.from('302a300506032b6570032100', 'hex'), length: 44 }, // Ed25519
];

/**
 * A public key read from SubjectPublicKeyInfo DER, in the one encoding
 * node:crypto writes for new keys. A key keeps the encoding it was read in (an
 * EC point sent compressed is exported compressed), and the CA tells keys
 * apart by the SHA-256 of that encoding: any other encoding is rewritten, or
 * one key sent twice, once compressed, would pass as two.
 */
export function publicKeyFromSpki(spki: Buffer): KeyObject {
  // As PEM: node:crypto reads the same SubjectPublicKeyInfo 2-4× faster from PEM than from
  // DER (measured here, P-256: 20-40 µs against 80-90 µs; every CSR brings a new key).
  const key = createPublicKey(toPem('PUBLIC KEY', spki));
  if (CANONICAL_SPKI.some(({ prefix, length }) => spki.length === length && spki.subarray(0, prefix.length).equals(prefix))) {
    publicKeyInfos.set(key, infoOf(Buffer.from(spki)));
    return key;
  }
  return createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' });
}

function readPublicKeyInfo(key: KeyObject): PublicKeyInfo {
  return infoOf(publicKeyOf(key).export({ type: 'spki', format: 'der' }));
}

function infoOf(der: Buffer): PublicKeyInfo {
  const info = fromDer(der);
  // The BIT STRING's first byte counts the unused bits; the identifier hashes what follows.
  const bits = bytesOf(children(info)[1]).subarray(1);
  return { asn1: info, der, keyIdentifier: createHash('sha1').update(bits).digest() };
}

export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

export function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block with one of these labels, or undefined when there is none. */
export function fromPem(pem: string, labels: readonly string[]): Buffer | undefined {
  for (const label of labels) {
    const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
    if (match?.[1] !== undefined) return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
  }
  return undefined;
}

function binary(bytes: Buffer): string {
  return bytes.toString('binary');
}
