import Koa from 'koa';
import type { TLSSocket } from 'node:tls';
import { formatSubjectName, type SubjectName } from '../../core/names.ts';
import type { Connections } from './connections.ts';
import { httpFailureOf } from './http-error.ts';
import type { Log } from '../../core/log.ts';
import { capped } from './log-fields.ts';
import { admittedAs, peerOf, validityProblem, type Peer } from './peer.ts';

interface AppOptions {
  allowedClients: SubjectName[] | undefined;
  connections: Connections;
  /** Whether the CRL in force revokes this (normalized) serial: a set lookup. */
  isRevoked: (serial: string) => boolean;
  log: Log;
}

/** A client let in: its certificate, and the SAN it was let in as. */
interface Admitted {
  peer: Peer;
  as: SubjectName;
}

type State = { admitted?: Admitted; client?: string; reason?: string };
type Context = Koa.ParameterizedContext<State>;

/**
 * Authentication happened in the TLS handshake: a request only gets here over
 * a connection whose client certificate the CA vouched for. This app does the
 * rest: log, authorize by name, answer.
 *
 * One koa middleware calling plain functions, not a chain of four: each koa
 * middleware costs a dispatch, a bound function and a promise or two on every
 * request, and a kept-alive request is cheap enough that this showed in the profile.
 */
export function createApp({ allowedClients, connections, isRevoked, log }: AppOptions): Koa<State> {
  const app = new Koa<State>();
  app.silent = true; // errors are logged below, as JSON, not printed by koa

  app.use((ctx) => {
    const started = performance.now();
    try {
      gate(ctx, connections, allowedClients, isRevoked);
    } catch (error) {
      const failure = httpFailureOf(error);
      ctx.status = failure.status;
      ctx.body = failure.body;
      if (failure.fault) log.error('request_error', { error: String(error) });
    }
    const { admitted, reason } = ctx.state;
    log.info('request', {
      client: nameOrNull(admitted?.as.value ?? ctx.state.client),
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      remote: ctx.socket.remoteAddress,
      remotePort: ctx.socket.remotePort,
      // Undefined fields are left out of the line (JSON.stringify drops them); readers look fields up by key.
      as: admitted === undefined ? undefined : capped(formatSubjectName(admitted.as)),
      reason,
    });
  });

  return app;
}

/**
 * A connection verified under a ca.crt no longer in force is not served, and
 * one past its maximum age, or whose trust changed meanwhile, ends after this response.
 */
function gate(ctx: Context, connections: Connections, allowedClients: SubjectName[] | undefined, isRevoked: (serial: string) => boolean): void {
  const socket = ctx.socket as TLSSocket;
  const { refused, done } = connections.begin(socket);
  ctx.res.once('close', done);
  if (refused !== undefined) {
    ctx.state.reason = refused;
    ctx.status = 401;
    ctx.body = REFUSED_CONNECTION[refused] ?? 'the server trusts another CA since this connection was verified: reconnect\n';
  } else if (authorize(ctx, socket, allowedClients, isRevoked)) {
    route(ctx, ctx.state.admitted as Admitted);
  }
  if (refused !== undefined || connections.mustClose(socket)) ctx.set('Connection', 'close');
}

/** Whether the client is let in (then ctx.state.admitted says as whom); if not, the response says why. */
function authorize(ctx: Context, socket: TLSSocket, allowedClients: SubjectName[] | undefined, isRevoked: (serial: string) => boolean): boolean {
  const peer = peerOf(socket);
  // rejectUnauthorized makes this unreachable; kept so that a misconfiguration fails closed.
  if (peer === undefined || !socket.authorized) {
    ctx.status = 401;
    ctx.body = 'client certificate required\n';
    return false;
  }
  const invalid = validityProblem(peer, Date.now());
  if (invalid !== undefined) {
    ctx.state.reason = invalid.reason;
    ctx.status = 401;
    ctx.body = `${invalid.message}\n`;
    ctx.set('Connection', 'close');
    return false;
  }
  // The handshake checked the CRL of its moment; a resumed session or a
  // connection older than the CRL in force did not see this one.
  if (isRevoked(peer.serial)) {
    ctx.state.reason = 'certificate revoked';
    ctx.status = 401;
    ctx.body = 'client certificate revoked\n';
    ctx.set('Connection', 'close');
    return false;
  }
  // The CN is not an identity once SANs exist, and ours always carry SANs: only they are matched.
  const as = admittedAs(peer, allowedClients);
  if (as === undefined) {
    const [first] = peer.names;
    ctx.status = 403;
    if (first === undefined) {
      ctx.state.reason = 'no DNS or URI name in the certificate';
      ctx.body = 'forbidden: the certificate names no DNS or URI identity\n';
    } else {
      ctx.state.client = first.value;
      ctx.state.reason = 'not in ALLOWED_CLIENTS';
      ctx.body = `forbidden: ${first.value} is authenticated but not allowed here\n`;
    }
    return false;
  }
  ctx.state.admitted = { peer, as };
  return true;
}

function route(ctx: Context, admitted: Admitted): void {
  const answer = ROUTES[ctx.path];
  if (answer === undefined) {
    ctx.status = 404;
    ctx.body = 'not found\n';
  } else if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    ctx.status = 405;
    ctx.set('Allow', 'GET, HEAD');
    ctx.body = 'method not allowed\n';
  } else {
    answer(admitted, ctx);
  }
}

const REFUSED_CONNECTION: Record<string, string> = {
  'certificate revoked': 'client certificate revoked\n',
};

const ROUTES: Record<string, (admitted: Admitted, ctx: Context) => void> = {
  '/': ({ as }, ctx) => {
    // Set directly: letting koa infer the type costs a MIME lookup per request.
    ctx.set('Content-Type', 'text/plain; charset=utf-8');
    ctx.body = `Hello ${as.value}, from server (mTLS verified)\n`;
  },
  '/whoami': ({ peer, as }, ctx) => {
    ctx.body = { name: as.value, as: formatSubjectName(as), names: peer.names.map(formatSubjectName), ...peer.describe() };
  },
};

const nameOrNull = (name: string | undefined): string | null => (name === undefined ? null : capped(name));
