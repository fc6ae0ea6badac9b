import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { isIssuedBy } from '../shared/tls-material.ts';
import type { CaContext, IssuedResponse } from './context.ts';
import type { CertificateRecord } from './database.ts';
import { csrFrom, refuseKnownKey, type CsrInput } from './csr-input.ts';
import { Refusal } from './errors.ts';
import { responseOf, signLeaf, type IssuedCertificate } from './issuance.ts';

// The handshake checks a client certificate for clientAuth; a server renewing
// with its serverAuth certificate fails only that check, which is not ours.
const ACCEPTED_HANDSHAKE_ERRORS = ['INVALID_PURPOSE'];

/**
 * POST /renew: the caller proves who it is with its current certificate (TLS
 * checked that it holds the key) and sends a CSR for a new key. The new
 * certificate is for the identity and role on record for the presented one.
 */
export function renew(context: CaContext, socket: TLSSocket, body: Record<string, unknown>): { response: IssuedResponse; issued: IssuedCertificate; input: CsrInput; presented: CertificateRecord } {
  const now = context.now();
  const presented = presentedCertificate(context, socket, now);
  const input = csrFrom(body);
  if (input.keyFingerprint256 === presented.keyFingerprint256) {
    throw new Refusal('KEY_REUSED', 'the CSR carries the key of the certificate being renewed: a renewal needs a new key', { identity: presented.identity });
  }
  refuseKnownKey(context.db, input, presented.identity);
  const issued = context.db.transaction(() => {
    const leaf = signLeaf(
      context.authority,
      context.certTtlMs,
      { identity: presented.identity, role: presented.role, request: input, via: 'renew', renewedFrom: presented.serial },
      now,
    );
    context.db.insertCertificate(leaf.record);
    context.db.markSuperseded(presented.serial);
    return leaf;
  });
  return { response: responseOf(context, issued), issued, input, presented };
}

/**
 * The inventory record of the certificate the client presented, once it is
 * shown to be ours and valid now. Validity is checked here, not only in the
 * handshake: a resumed TLS session or a kept-alive connection still carries a
 * certificate that has expired since.
 */
export function presentedCertificate(context: CaContext, socket: TLSSocket, now: Date): CertificateRecord {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) throw new Refusal('CERTIFICATE_REQUIRED', 'renewal needs the current certificate, presented as the TLS client certificate');
  const who = describe(certificate);
  if (!isIssuedBy(certificate, context.authority.certificate)) throw new Refusal('CERTIFICATE_UNKNOWN', 'the presented certificate was not issued by this CA', who);
  if (now > certificate.validToDate) throw new Refusal('CERTIFICATE_EXPIRED', `the presented certificate expired at ${certificate.validToDate.toISOString()}: enroll again with a new token`, who);
  if (now < certificate.validFromDate) throw new Refusal('CERTIFICATE_UNKNOWN', `the presented certificate is not valid before ${certificate.validFromDate.toISOString()}`, who);
  const record = context.db.findCertificate(certificate.fingerprint256);
  if (record === undefined) throw new Refusal('CERTIFICATE_UNKNOWN', 'the presented certificate is not in this CA\'s inventory', who);
  if (record.status === 'revoked') throw new Refusal('CERTIFICATE_REVOKED', 'the presented certificate was revoked', who);
  const handshakeError = socket.authorized ? undefined : String(socket.authorizationError);
  if (handshakeError !== undefined && !ACCEPTED_HANDSHAKE_ERRORS.includes(handshakeError)) {
    throw new Refusal('CERTIFICATE_UNKNOWN', `the presented certificate failed verification (${handshakeError})`, who);
  }
  return record;
}

function describe(certificate: X509Certificate): Record<string, unknown> {
  return { presented: { subject: certificate.subject.trim(), serial: certificate.serialNumber, notAfter: certificate.validToDate.toISOString() } };
}
