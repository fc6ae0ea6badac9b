// Pieces both certificates and CSRs are made of: names, extensions, and the
// signed envelope (the body, the algorithm, the signature).
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { bitString, children, forgePki, octetString, oid, sequence, toDer, type Asn1 } from './der.ts';
import { MtlsError } from './errors.ts';
import { signatureAlgorithmOf, signWith, type SignatureAlgorithm } from './key-types.ts';
import type { SubjectName } from './names.ts';

/** Issuance input the builder refuses; `message` is one line. */
export class X509Error extends MtlsError {
  readonly code = 'EX509';
}

/** An extension as node-forge's builders take it: by name with its fields, or by id with a ready value. */
export type ExtensionSpec = { name: string; critical?: boolean; [field: string]: unknown } | { id: string; value: Asn1; critical?: boolean };

/** A subject of one CN, as a UTF8String (RFC 5280 4.1.2.6 prefers it; any name the flags accept fits). */
export function nameOf(commonName: string): Asn1 {
  if (commonName === '' || [...commonName].length > 64) throw new X509Error(`a common name is 1 to 64 characters, not "${commonName}"`);
  return forge.pki.distinguishedNameToAsn1({
    attributes: [{ type: '2.5.4.3', value: commonName, valueTagClass: forge.asn1.Type.UTF8 } as unknown as forge.pki.CertificateField],
  });
}

export function subjectAltName(names: readonly SubjectName[]): ExtensionSpec {
  const altNames = names.map((name) => (name.type === 'ip' ? { type: 7, ip: name.value } : { type: name.type === 'dns' ? 2 : 6, value: name.value }));
  return { name: 'subjectAltName', altNames };
}

/** Extensions as a SEQUENCE, their values filled in by node-forge's builders. */
export function extensions(list: ExtensionSpec[]): Asn1 {
  // setExtensions is forge's only public door to its builders; the holder certificate is not used otherwise.
  const holder = forge.pki.createCertificate();
  holder.setExtensions(list);
  const wrapped = forgePki.certificateExtensionsToAsn1(holder.extensions);
  return children(wrapped)[0] as Asn1;
}

export function keyIdentifierExtension(keyIdentifier: Buffer): ExtensionSpec {
  return { id: '2.5.29.14', value: octetString(keyIdentifier) };
}

/** authorityKeyIdentifier with the issuer's key identifier as given: forge's own would hash the subject's key. */
export function authorityKeyIdentifierExtension(keyIdentifier: Buffer): ExtensionSpec {
  const keyIdentifierField = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, false, keyIdentifier.toString('binary'));
  return { id: '2.5.29.35', value: sequence([keyIdentifierField]) };
}

export function algorithmIdentifier(algorithm: SignatureAlgorithm): Asn1 {
  const parameters = algorithm.nullParameters ? [forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, '')] : [];
  return sequence([oid(algorithm.oid), ...parameters]);
}

/** body + AlgorithmIdentifier + signature over the body's DER: the shape of a certificate, a CSR, a CRL. */
export function signed(body: Asn1, key: KeyObject, algorithm: SignatureAlgorithm = signatureAlgorithmOf(key)): Buffer {
  const signature = signWith(key, toDer(body));
  return toDer(sequence([body, algorithmIdentifier(algorithm), bitString(signature)]));
}
