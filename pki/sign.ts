import { sign, verify, type KeyObject, createPublicKey } from 'node:crypto';
import forge from 'node-forge';

// node-forge builds the ASN.1 structures; node:crypto makes and checks the RSA
// signatures. forge signs in pure JavaScript (about 40 ms per signature at
// 2048 bits, against well under 1 ms natively) and defaults to SHA-1, which
// Node rejects as too weak.
const SHA256_WITH_RSA = forge.pki.oids['sha256WithRSAEncryption'] as string;

// Both exist in node-forge but are missing from its type definitions.
const pki = forge.pki as typeof forge.pki & {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  getCertificationRequestInfo(csr: forge.pki.CertificateSigningRequest): forge.asn1.Asn1;
};

/** Signs the DER of the TBSCertificate that forge built, with SHA-256 and PKCS#1 v1.5. */
export function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  const mutable = cert as forge.pki.Certificate & { tbsCertificate: forge.asn1.Asn1 };
  cert.signatureOid = SHA256_WITH_RSA;
  cert.siginfo.algorithmOid = SHA256_WITH_RSA;
  mutable.tbsCertificate = pki.getTBSCertificate(cert);
  cert.signature = sign('sha256', toDer(mutable.tbsCertificate), key).toString('binary');
}

/** Same for a CSR: the requester proves it holds the key by signing CertificationRequestInfo. */
export function signCsr(csr: forge.pki.CertificateSigningRequest, key: KeyObject): void {
  const mutable = csr as CsrInternals;
  csr.signatureOid = SHA256_WITH_RSA;
  csr.siginfo.algorithmOid = SHA256_WITH_RSA;
  mutable.certificationRequestInfo = pki.getCertificationRequestInfo(csr);
  csr.signature = sign('sha256', toDer(mutable.certificationRequestInfo), key).toString('binary');
}

/** Checks a parsed CSR's self-signature natively: only SHA-256 with RSA is accepted. */
export function verifyCsrSignature(csr: forge.pki.CertificateSigningRequest): boolean {
  const info = (csr as CsrInternals).certificationRequestInfo;
  if (csr.signatureOid !== SHA256_WITH_RSA || info === undefined || csr.publicKey === null) return false;
  const publicKey = createPublicKey(forge.pki.publicKeyToPem(csr.publicKey));
  return verify('sha256', toDer(info), publicKey, Buffer.from(csr.signature as string, 'binary'));
}

type CsrInternals = forge.pki.CertificateSigningRequest & { certificationRequestInfo?: forge.asn1.Asn1 };

function toDer(asn1: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
