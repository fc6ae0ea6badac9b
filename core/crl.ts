// Certificate revocation lists (RFC 5280 section 5), written the way our
// certificates are: node-forge lays out the ASN.1, node:crypto signs. node-forge
// has no CRL support of its own, and Node can load a CRL into TLS but not read one.
import type { KeyObject, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import {
  bytesOf,
  children,
  contextSpecific,
  fromDer,
  fromPem,
  isContextSpecific,
  oidOf,
  rawElements,
  sequence,
  time,
  toPem,
  unsignedInteger,
  type Asn1,
} from './der.ts';
import { signatureAlgorithmByOid, signatureAlgorithmOf, verifyWith } from './key-types.ts';
import { algorithmIdentifier, authorityKeyIdentifierExtension, extensions, signed } from './x509-parts.ts';
import { issuerFields } from './x509.ts';
import { MtlsError } from './errors.ts';
import { normalizeSerial } from './certificate.ts';

/** RFC 5280 5.3.1 CRLReason, by name; the number is what the CRL carries. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

export interface RevokedCertificate {
  /** Hex, as X509Certificate.serialNumber prints it (case and leading zeros do not matter). */
  serialNumber: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlRequest {
  issuer: { certificate: X509Certificate; key: KeyObject };
  /** The CRL number: grows with every CRL this CA publishes, so a relying party can tell newer from older. */
  number: bigint;
  thisUpdate: Date;
  /** When relying parties must have a newer CRL: OpenSSL refuses every certificate of this CA after it. */
  nextUpdate: Date;
  revoked: readonly RevokedCertificate[];
}

/** A CRL we refuse to read or build; `message` is one line. */
export class CrlError extends MtlsError {
  readonly code = 'ECRL';
}

// The one PEM label Node and OpenSSL accept for a CRL.
export const CRL_PEM_LABEL = 'X509 CRL';
const CRL_NUMBER = '2.5.29.20';
const REASON_CODE = '2.5.29.21';

/** Signs a v2 CRL with the issuer's key; returns it as PEM. */
export function issueCrl(request: CrlRequest): string {
  const { certificate, key } = request.issuer;
  if (!certificate.ca) throw new CrlError(`${certificate.subject.trim()} is not a CA: only a CA signs a CRL`);
  if (!certificate.checkPrivateKey(key)) throw new CrlError("the issuer's key does not match its certificate");
  if (!(request.thisUpdate.getTime() < request.nextUpdate.getTime())) throw new CrlError('thisUpdate must be before nextUpdate');
  if (request.number < 0n) throw new CrlError('a CRL number is never negative');
  const issuer = issuerFields(certificate);
  const algorithm = signatureAlgorithmOf(key);
  const revoked = request.revoked.map(revokedEntry);
  const body = sequence([
    unsignedInteger(Buffer.of(1)), // v2: needed for extensions
    algorithmIdentifier(algorithm),
    issuer.name,
    time(request.thisUpdate),
    time(request.nextUpdate),
    ...(revoked.length === 0 ? [] : [sequence(revoked)]), // an empty list is omitted, not written empty
    contextSpecific(0, true, [
      extensions([authorityKeyIdentifierExtension(issuer.keyIdentifier), { id: CRL_NUMBER, value: unsignedInteger(bigintBytes(request.number)) }]),
    ]),
  ]);
  return toPem(CRL_PEM_LABEL, signed(body, key, algorithm));
}

function revokedEntry(entry: RevokedCertificate): Asn1 {
  const reason = REVOCATION_REASONS[entry.reason];
  if (reason === undefined) throw new CrlError(`unknown revocation reason "${entry.reason}"`);
  const reasonCode = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.ENUMERATED, false, String.fromCharCode(reason));
  // RFC 5280 5.3.1: the reason code is absent rather than "unspecified".
  return sequence([
    unsignedInteger(serialBytes(entry.serialNumber)),
    time(entry.revokedAt),
    ...(reason === REVOCATION_REASONS.unspecified ? [] : [extensions([{ id: REASON_CODE, value: reasonCode }])]),
  ]);
}

/** What a relying party needs of a CRL: who signed it, when it expires, which serials it revokes. */
export interface ParsedCrl {
  number: bigint | undefined;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Normalized serials (uppercase hex, no leading zeros): a set lookup per request. */
  revokedSerials: ReadonlySet<string>;
  /** Whether `ca` signed this CRL (its key verifies the signature). */
  isSignedBy(ca: X509Certificate): boolean;
}

/** Parses a PEM CRL; throws CrlError for anything else. */
export function parseCrl(pem: string): ParsedCrl {
  const der = fromPem(pem, [CRL_PEM_LABEL]);
  if (der === undefined) throw new CrlError(`not a PEM CRL (no "-----BEGIN ${CRL_PEM_LABEL}-----" block)`);
  try {
    const [bodyDer, , signatureDer] = rawElements(der);
    const [body, algorithmNode, signatureNode] = children(fromDer(der));
    const fields = children(body);
    const algorithm = signatureAlgorithmByOid(oidOf(children(algorithmNode)[0]));
    // version is optional (v1 CRLs omit it): skip it when present.
    const rest = fields[0]?.type === forge.asn1.Type.INTEGER ? fields.slice(1) : fields;
    const [, , thisUpdateNode, ...tail] = rest;
    const nextUpdateNode = isTime(tail[0]) ? tail.shift() : undefined;
    const revokedList = tail[0] !== undefined && !isContextSpecific(tail[0], 0) ? tail.shift() : undefined;
    const crlExtensions = tail.find((node) => isContextSpecific(node, 0));
    if (bodyDer === undefined || signatureDer === undefined || thisUpdateNode === undefined) throw new Error('truncated');
    const signature = bytesOf(signatureNode).subarray(1);
    return {
      number: crlNumber(crlExtensions),
      thisUpdate: dateOf(thisUpdateNode),
      nextUpdate: nextUpdateNode === undefined ? undefined : dateOf(nextUpdateNode),
      revokedSerials: new Set(children(revokedList).map((entry) => normalizeSerial(bytesOf(children(entry)[0]).toString('hex')))),
      isSignedBy: (ca) => algorithm !== undefined && verifiesOrFalse(() => verifyWith(ca.publicKey, algorithm, bodyDer, signature)),
    };
  } catch (error) {
    if (error instanceof CrlError) throw error;
    throw new CrlError(`not a valid CRL (${(error as Error).message})`);
  }
}

/** Every CRL in a PEM bundle (one per CA); throws CrlError when there is none or one is broken. */
export function parseCrls(pem: string): ParsedCrl[] {
  const blocks = pem.match(new RegExp(`-----BEGIN ${CRL_PEM_LABEL}-----[\\s\\S]+?-----END ${CRL_PEM_LABEL}-----`, 'g')) ?? [];
  if (blocks.length === 0) throw new CrlError(`not a PEM CRL (no "-----BEGIN ${CRL_PEM_LABEL}-----" block)`);
  return blocks.map(parseCrl);
}

function crlNumber(crlExtensions: Asn1 | undefined): bigint | undefined {
  const list = children(children(crlExtensions)[0]);
  const extension = list.find((node) => oidOf(children(node)[0]) === CRL_NUMBER);
  if (extension === undefined) return undefined;
  const value = bytesOf(fromDer(bytesOf(children(extension).at(-1))));
  return value.length === 0 ? 0n : BigInt(`0x${value.toString('hex')}`);
}

function isTime(node: Asn1 | undefined): boolean {
  return node?.tagClass === forge.asn1.Class.UNIVERSAL && (node.type === forge.asn1.Type.UTCTIME || node.type === forge.asn1.Type.GENERALIZEDTIME);
}

function dateOf(node: Asn1): Date {
  const text = String(node.value);
  return node.type === forge.asn1.Type.UTCTIME ? forge.asn1.utcTimeToDate(text) : forge.asn1.generalizedTimeToDate(text);
}

function serialBytes(hex: string): Buffer {
  const clean = hex.replace(/:/g, '');
  if (!/^[0-9a-f]+$/i.test(clean)) throw new CrlError(`"${hex}" is not a hexadecimal serial number`);
  return Buffer.from(clean.length % 2 === 0 ? clean : `0${clean}`, 'hex');
}

function bigintBytes(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
}

/** A CA key of a type we do not accept signed nothing we trust. */
function verifiesOrFalse(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
