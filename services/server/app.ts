import Koa from 'koa';
import type { TLSSocket } from 'node:tls';
import type { Log } from './log.ts';
import { peerOf, type Peer } from './peer.ts';

interface AppOptions {
  allowedClients: string[] | undefined;
  log: Log;
}

type State = { peer: Peer; reason?: string };

/**
 * Authentication happened in the TLS handshake: a request only gets here over
 * a connection whose client certificate the CA vouched for. This app does the
 * rest: log, authorize by name, answer.
 */
export function createApp({ allowedClients, log }: AppOptions): Koa<State> {
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
    log.info('request', {
      client: ctx.state.peer?.name ?? null,
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      remote: ctx.socket.remoteAddress,
      remotePort: ctx.socket.remotePort,
      ...(ctx.state.reason === undefined ? {} : { reason: ctx.state.reason }),
    });
  });

  app.use(async (ctx, next) => {
    const peer = peerOf(ctx.socket as TLSSocket);
    // rejectUnauthorized makes this unreachable; kept so that a misconfiguration fails closed.
    if (peer === undefined || !(ctx.socket as TLSSocket).authorized) {
      ctx.status = 401;
      ctx.body = 'client certificate required\n';
      return;
    }
    ctx.state.peer = peer;
    if (allowedClients !== undefined && !peer.names.some((name) => allowedClients.includes(name))) {
      ctx.state.reason = `not in ALLOWED_CLIENTS`;
      ctx.status = 403;
      ctx.body = `forbidden: ${peer.name} is authenticated but not allowed here\n`;
      return;
    }
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
      route(ctx.state.peer, ctx);
    }
  });

  return app;
}

const ROUTES: Record<string, (peer: Peer, ctx: Koa.Context) => void> = {
  '/': (peer, ctx) => {
    // Set directly: letting koa infer the type costs a MIME lookup per request.
    ctx.set('Content-Type', 'text/plain; charset=utf-8');
    ctx.body = `Hello ${peer.name}, from server (mTLS verified)\n`;
  },
  '/whoami': (peer, ctx) => {
    ctx.body = { name: peer.name, names: peer.names, ...peer.describe() };
  },
};
