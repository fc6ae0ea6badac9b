import { constants } from 'node:crypto';
import https from 'node:https';
import type Koa from 'koa';
import type { Log } from '../../core/log.ts';
import type { KeyPair } from '../../core/tls-material.ts';

export interface CaServer {
  server: https.Server;
  /** The port actually bound (useful with CA_PORT=0). */
  port: number;
  /** Swaps in a new serving certificate for new connections. */
  setServing(pair: KeyPair): void;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then resolves. */
  close(graceMs: number): Promise<void>;
}

/**
 * The CA asks every client for a certificate but lets the handshake finish
 * without one: /enroll callers have none yet. /renew checks the certificate
 * itself and answers with a reason, which a refused handshake could not give.
 * No session resumption: a resumed session would carry the certificate of
 * the original handshake, even one that has expired since; every renewal
 * brings a new certificate anyway, so nothing would resume. SSL_OP_NO_TICKET
 * stops stateless tickets; TLS 1.3 then sends stateful ones, which nothing can
 * resume (no session store): the process's OpenSSL configuration (openssl.cnf)
 * stops those too.
 */
function tlsOptions(pair: KeyPair, caPem: string): https.ServerOptions {
  return {
    cert: pair.certificatePem,
    key: pair.keyPem,
    ca: caPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}

export async function startCaServer(
  listen: { host: string; port: number },
  app: Koa,
  serving: { pair: KeyPair; caPem: string },
  log: Log,
): Promise<CaServer> {
  const server = https.createServer(tlsOptions(serving.pair, serving.caPem), app.callback());
  // Slow or stalled clients must not hold the CA's connections for Node's default 5 minutes.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    log.warn('handshake_failed', { code: error.code ?? null, message: error.message.split('\n')[0], remote: socket.remoteAddress ?? null });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as { port: number }).port,
    setServing: (pair) => server.setSecureContext(tlsOptions(pair, serving.caPem)),
    close: (graceMs) => closeServer(server, graceMs),
  };
}

async function closeServer(server: https.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(grace);
}
