import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { summarizeCertificate, type CertificateSummary } from '../shared/certificate.ts';
import { isWorkloadName, namesFromSubjectAltName, type SubjectName } from '../shared/names.ts';

/** Who is on the other end of a verified connection, as their certificate says. */
export interface Peer {
  /** The names a client can be known by: its DNS and URI SANs, in certificate order. The CN is never one. */
  names: SubjectName[];
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
