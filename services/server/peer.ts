import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { commonName, summarizeCertificate, type CertificateSummary } from '../shared/certificate.ts';

/** Who is on the other end of a verified connection, as their certificate says. */
export interface Peer {
  /** The name to greet and log: the CN, else the first SAN. */
  name: string;
  /** Every name authorization may match: SAN DNS and URI entries, and the CN. */
  names: string[];
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
  const names = identityNames(cert);
  const peer: Peer = {
    name: names[0] ?? '(unnamed)',
    names,
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

function identityNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  const cn = commonName(cert.subject);
  if (cn !== undefined) names.push(cn);
  for (const entry of cert.subjectAltName?.split(', ') ?? []) {
    const match = /^(DNS|URI):(.+)$/.exec(entry);
    if (match?.[2] !== undefined && !names.includes(match[2])) names.push(match[2]);
  }
  return names;
}
