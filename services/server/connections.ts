import type https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { normalizeSerial } from '../../core/certificate.ts';

/** One TCP connection, from its arrival: where from, when, and under which trust it was (or is being) verified. */
interface Connection {
  raw: Socket;
  remote: string | undefined;
  remotePort: number | undefined;
  openedAt: number;
  trust: number;
  inFlight: number;
  /** The client certificate's serial (normalized), once the handshake is done. */
  serial: string | undefined;
  /** Why this connection must not be served any more (its certificate was revoked). */
  ended: string | undefined;
}

export interface Connections {
  /** The peer address noted on arrival (a refused handshake destroys the socket, and its address with it). */
  addressOf(socket: TLSSocket): { remote?: string; remotePort?: number };
  /** Called at the start of each request: why it must not be served, if so; `done` when its response is over. */
  begin(socket: TLSSocket): { refused: string | undefined; done: () => void };
  /** Whether this connection must end after the response in progress. */
  mustClose(socket: TLSSocket): boolean;
  /** A new ca.crt is in force: ends idle connections verified under the old one; busy ones end after their response. */
  trustChanged(): { idle: number; busy: number };
  /** These serials were just revoked: ends their idle connections now, busy ones after their response, and serves them nothing more. */
  revoked(serials: ReadonlySet<string>): { idle: number; busy: number };
}

/**
 * Tracks every connection of an HTTPS server. A handshake is verified under the
 * secure context in force when the connection arrived (Node picks it then), so
 * each connection is stamped with the trust generation of that moment.
 */
export function trackConnections(server: https.Server, maxAgeMs: number): Connections {
  let trust = 0;
  // Open connections, to end on a trust change; a refused handshake is logged after its socket
  // closed, so what is known about a connection stays reachable from the socket as long as it is.
  const live = new Set<Connection>();
  const known = new WeakMap<Socket, Connection>();
  server.on('connection', (raw: Socket) => {
    const connection: Connection = { raw, remote: raw.remoteAddress, remotePort: raw.remotePort, openedAt: Date.now(), trust, inFlight: 0, serial: undefined, ended: undefined };
    known.set(raw, connection);
    live.add(connection);
    raw.once('close', () => live.delete(connection));
  });
  // Node keeps the TCP socket a server-side TLSSocket wraps in `_parent`.
  const of = (socket: TLSSocket) => known.get((socket as TLSSocket & { _parent?: Socket })._parent as Socket);
  // Noted at the handshake, so that a revocation finds an idle connection that has sent nothing yet.
  server.on('secureConnection', (socket: TLSSocket) => {
    const connection = of(socket);
    const serial = socket.getPeerX509Certificate()?.serialNumber;
    if (connection !== undefined && serial !== undefined) connection.serial = normalizeSerial(serial);
  });
  const stale = (connection: Connection) => connection.trust !== trust || connection.ended !== undefined;
  /** Ends the idle connections `matches` picks now; busy ones end after their response (stale() is true for them). */
  const end = (matches: (connection: Connection) => boolean) => {
    let idle = 0;
    let busy = 0;
    for (const connection of live) {
      if (!matches(connection)) continue;
      if (connection.inFlight > 0) busy += 1;
      else {
        idle += 1;
        connection.raw.destroy();
      }
    }
    return { idle, busy };
  };
  return {
    addressOf: (socket) => {
      const connection = of(socket);
      return connection === undefined ? {} : { remote: connection.remote, remotePort: connection.remotePort };
    },
    begin(socket) {
      const connection = of(socket);
      if (connection === undefined) return { refused: 'connection not tracked', done: () => undefined };
      connection.inFlight += 1;
      const refused = connection.ended ?? (stale(connection) ? 'trust changed' : undefined);
      return { refused, done: () => void (connection.inFlight -= 1) };
    },
    mustClose(socket) {
      const connection = of(socket);
      return connection === undefined || stale(connection) || Date.now() - connection.openedAt >= maxAgeMs;
    },
    trustChanged() {
      trust += 1;
      return end(stale);
    },
    revoked(serials) {
      return end((connection) => {
        if (connection.serial === undefined || !serials.has(connection.serial)) return false;
        connection.ended = 'certificate revoked';
        return true;
      });
    },
  };
}
