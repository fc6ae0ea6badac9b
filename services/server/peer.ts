import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { normalizeSerial, summarizeCertificate, type CertificateSummary } from '../../core/certificate.ts';
import { isWorkloadName, namesFromSubjectAltName, type SubjectName } from '../../core/names.ts';

/** Who is on the other end of a verified connection, as their certificate says. */
export interface Peer {
  /** The names a client can be known by: its DNS and URI SANs, in certificate order. The CN is never one. */
  names: SubjectName[];
  /** The serial, normalized as CRLs are read: what the per-request revocation check looks up. */
  serial: string;
  /** The certificate's validity, in ms since the epoch: kept, because a resumed session or a long connection outlives it. */
  validFrom: number;
  validTo: number;
  /** The full description, for /whoami (built on first use). */
  describe(): CertificateSummary & { protocol: string | null; cipher: string };
}

// The peer is fixed for the life of a connection: parse its certificate once,
// not on every request a kept-alive connection carries.
const peers = new WeakMap<TLSSocket, Peer>();

export function peerOf(socket: TLSSocket): Peer | undefined {
  const known = peers.get(socket);
  if (known !== undefined) return known;
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return undefined;
  const peer: Peer = {
    names: namesFromSubjectAltName(cert.subjectAltName).filter((name) => name.type !== 'ip'),
    serial: normalizeSerial(cert.serialNumber),
    validFrom: cert.validFromDate.getTime(),
    validTo: cert.validToDate.getTime(),
    // Parsed again when asked (rarely), rather than held for the life of every connection;
    // a verified connection keeps its peer certificate until it closes.
    describe: () => ({
      ...summarizeCertificate(socket.getPeerX509Certificate() as X509Certificate),
      protocol: socket.getProtocol(),
      cipher: socket.getCipher().standardName,
    }),
  };
  peers.set(socket, peer);
  return peer;
}

/**
 * The name under which a peer is let in: its first SAN that ALLOWED_CLIENTS
 * lists (by type: URI exactly, DNS without case), or with no list its first
 * DNS/URI SAN. Undefined means it is not let in.
 */
export function admittedAs(peer: Peer, allowed: readonly SubjectName[] | undefined): SubjectName | undefined {
  if (allowed === undefined) return peer.names[0];
  return peer.names.find((name) => allowed.some((rule) => isWorkloadName(name, rule)));
}

/**
 * Why the peer's certificate is not valid at `now`, if it is not. The handshake
 * checked it, but a resumed session restores the original certificate without
 * checking it again, and a connection outlives it.
 */
export function validityProblem(peer: Peer, now: number): { reason: string; message: string } | undefined {
  if (now > peer.validTo) return { reason: 'certificate expired', message: `client certificate expired on ${new Date(peer.validTo).toISOString()}` };
  if (now < peer.validFrom) return { reason: 'certificate not yet valid', message: `client certificate not valid until ${new Date(peer.validFrom).toISOString()}` };
  return undefined;
}
