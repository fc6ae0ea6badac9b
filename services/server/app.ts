import Koa from 'koa';
import type { TLSSocket } from 'node:tls';
import { formatSubjectName, type SubjectName } from '../shared/names.ts';
import type { Connections } from './connections.ts';
import type { Log } from './log.ts';
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

type State = { admitted: Admitted; client?: string; reason?: string };

/**
 * Authentication happened in the TLS handshake: a request only gets here over
 * a connection whose client certificate the CA vouched for. This app does the
 * rest: log, authorize by name, answer.
 */
export function createApp({ allowedClients, connections, isRevoked, log }: AppOptions): Koa<State> {
  const app = new Koa<State>();
  app.silent = true; // errors are logged below, as JSON, not printed by koa

  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = 'internal error\n';
      log.error('request_error', { error: String(error) });
    }
    const admitted = ctx.state.admitted as Admitted | undefined;
    log.info('request', {
      client: nameOrNull(admitted?.as.value ?? ctx.state.client),
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      remote: ctx.socket.remoteAddress,
      remotePort: ctx.socket.remotePort,
      // After the fields above, whose order the demo's log readers rely on.
      ...(admitted === undefined ? {} : { as: capped(formatSubjectName(admitted.as)) }),
      ...(ctx.state.reason === undefined ? {} : { reason: ctx.state.reason }),
    });
  });

  // A connection verified under a ca.crt no longer in force is not served, and
  // one past its maximum age, or whose trust changed meanwhile, ends after this response.
  app.use(async (ctx, next) => {
    const socket = ctx.socket as TLSSocket;
    const { refused, done } = connections.begin(socket);
    ctx.res.once('close', done);
    if (refused !== undefined) {
      ctx.state.reason = refused;
      ctx.status = 401;
      ctx.body = REFUSED_CONNECTION[refused] ?? 'the server trusts another CA since this connection was verified: reconnect\n';
    } else {
      await next();
    }
    if (refused !== undefined || connections.mustClose(socket)) ctx.set('Connection', 'close');
  });

  app.use(async (ctx, next) => {
    const peer = peerOf(ctx.socket as TLSSocket);
    // rejectUnauthorized makes this unreachable; kept so that a misconfiguration fails closed.
    if (peer === undefined || !(ctx.socket as TLSSocket).authorized) {
      ctx.status = 401;
      ctx.body = 'client certificate required\n';
      return;
    }
    const invalid = validityProblem(peer, Date.now());
    if (invalid !== undefined) {
      ctx.state.reason = invalid.reason;
      ctx.status = 401;
      ctx.body = `${invalid.message}\n`;
      ctx.set('Connection', 'close');
      return;
    }
    // The handshake checked the CRL of its moment; a resumed session or a
    // connection older than the CRL in force did not see this one.
    if (isRevoked(peer.serial)) {
      ctx.state.reason = 'certificate revoked';
      ctx.status = 401;
      ctx.body = 'client certificate revoked\n';
      ctx.set('Connection', 'close');
      return;
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
      return;
    }
    ctx.state.admitted = { peer, as };
    await next();
  });

  app.use((ctx) => {
    const route = ROUTES[ctx.path];
    if (route === undefined) {
      ctx.status = 404;
      ctx.body = 'not found\n';
    } else if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = 'method not allowed\n';
    } else {
      route(ctx.state.admitted, ctx);
    }
  });

  return app;
}

const REFUSED_CONNECTION: Record<string, string> = {
  'certificate revoked': 'client certificate revoked\n',
};

const ROUTES: Record<string, (admitted: Admitted, ctx: Koa.Context) => void> = {
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
