import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { isIssuedBy } from '../../core/tls-material.ts';
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
export function renew(context: CaContext, socket: TLSSocket, body: Record<string, unknown>): Renewal {
  const now = context.now();
  const presented = presentedCertificate(context, socket, now);
  const input = csrFrom(body);
  if (input.keyFingerprint256 === presented.keyFingerprint256) {
    throw new Refusal('KEY_REUSED', 'the CSR carries the key of the certificate being renewed: a renewal needs a new key', { identity: presented.identity });
  }
  // Decided inside the transaction, by marking it: only a certificate still `issued` is
  // superseded, so two requests with one certificate cannot both renew it.
  return context.db.transaction(() => {
    if (!context.db.markSuperseded(presented.serial)) {
      const current = context.db.findCertificate(presented.fingerprint256);
      if (current?.status === 'superseded') return { ...replayOf(context, current, input), input, presented };
      throw new Refusal('CERTIFICATE_REVOKED', 'the presented certificate was revoked', { identity: presented.identity });
    }
    refuseKnownKey(context.db, input, presented.identity);
    const issued = signLeaf(
      context.authority,
      context.certTtlMs,
      { identity: presented.identity, role: presented.role, request: input, via: 'renew', renewedFrom: presented.serial },
      now,
    );
    context.db.insertCertificate(issued.record, issued.pem);
    return { response: responseOf(context, issued), issued, replayed: false, input, presented };
  });
}

/** What /renew did: a new certificate, or (replayed) the one an earlier request with the same key got. */
export interface Renewal {
  response: IssuedResponse;
  issued: Pick<IssuedCertificate, 'record'>;
  replayed: boolean;
  input: CsrInput;
  presented: CertificateRecord;
}

/**
 * A superseded certificate renews nothing new: only its one holder renewed it,
 * so another request with it is a copy (a stolen key) or a retry whose answer
 * was lost. A retry brings a CSR for the key of the certificate that superseded
 * it, and gets that certificate again; anything else is refused.
 */
function replayOf(context: CaContext, superseded: CertificateRecord, input: CsrInput): Pick<Renewal, 'response' | 'issued' | 'replayed'> {
  const successor = context.db.successorOf(superseded.serial);
  if (successor !== undefined && successor.pem !== null && successor.record.status === 'issued' && successor.record.keyFingerprint256 === input.keyFingerprint256) {
    const { record, pem } = successor;
    return { response: responseOf(context, { pem, record }), issued: { record }, replayed: true };
  }
  throw new Refusal('CERTIFICATE_SUPERSEDED', 'the presented certificate was superseded by its renewal: renew with the current one (a copy of this certificate and its key in use elsewhere means the key was stolen)', {
    identity: superseded.identity,
    serial: superseded.serial,
    supersededBy: successor?.record.serial ?? null,
    suspicion: 'key theft: a copy of a renewed certificate and its key is in use',
  });
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
  // The inventory holds the SHA-256 of every certificate this CA signed: a match is that
  // certificate, byte for byte, so no signature needs checking. Only a miss asks why.
  const record = context.db.findCertificate(certificate.fingerprint256);
  if (record === undefined && !isIssuedBy(certificate, context.authority.certificate)) throw new Refusal('CERTIFICATE_UNKNOWN', 'the presented certificate was not issued by this CA', who);
  if (now > certificate.validToDate) throw new Refusal('CERTIFICATE_EXPIRED', `the presented certificate expired at ${certificate.validToDate.toISOString()}: enroll again with a new token`, who);
  if (now < certificate.validFromDate) throw new Refusal('CERTIFICATE_UNKNOWN', `the presented certificate is not valid before ${certificate.validFromDate.toISOString()}`, who);
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
