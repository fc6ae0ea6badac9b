import { constants } from 'node:crypto';
import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { TlsMaterialError } from '../../core/tls-material.ts';
import { createApp } from './app.ts';
import type { ServerConfig } from './config.ts';
import { trackConnections } from './connections.ts';
import { handshakeFailureReason } from './handshake-failure.ts';
import type { Log } from '../../core/log.ts';
import { loggedCertificate, loggedTrust } from './log-fields.ts';
import { rateLimit } from './rate-limit.ts';
import { loadServerMaterial, type ServerMaterial } from './material.ts';
import { watchCrlExpiry } from './crl-expiry.ts';
import { CRL_FILE, loggedCrl, newlyRevoked } from './revocation.ts';
import { watchDirectory } from './watch.ts';

export interface MtlsServer {
  server: https.Server;
  /** The port actually bound (useful with PORT=0). */
  port: number;
  /** The health listener's port actually bound (useful with HEALTH_PORT=0); undefined when it is off. */
  healthPort: number | undefined;
  /** Re-reads TLS_DIR and swaps the certificates in for new connections; false if refused. */
  reload(): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then resolves. */
  close(): Promise<void>;
}

// Mozilla's "intermediate" suites: TLS 1.3's three, and for TLS 1.2 only ECDHE
// (forward secrecy) with AEAD, for ECDSA and RSA certificates (no CBC, no SHA-1
// MACs, no plain RSA key exchange, no DHE). Node turns TLS 1.3 off when a list
// names no TLS 1.3 suite, so they are listed too.
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

// Resumed sessions skip certificate verification (the server re-checks the
// certificate's dates on every request); tickets live 5 minutes, not Node's 2 hours.
const SESSION_TIMEOUT_S = 300;
const FAILURES_LOGGED_PER_SECOND = 5;

/** The TLS settings that make this mutual: ask for a client certificate and refuse the handshake without a valid one. */
function tlsOptions(material: ServerMaterial): https.ServerOptions {
  return {
    sessionTimeout: SESSION_TIMEOUT_S,
    // A TLS 1.2 renegotiation could bring another client certificate into an authorized connection.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    cert: material.certificatePem,
    key: material.keyPem,
    ca: material.caPem,
    // Node turns on CRL_CHECK_ALL with it: revocation.ts checks that each CA in ca.crt has its CRL.
    ...(material.crl === undefined ? {} : { crl: material.crl.pem }),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
  };
}

export async function startServer(config: ServerConfig, material: ServerMaterial, log: Log): Promise<MtlsServer> {
  const server = https.createServer(tlsOptions(material));
  const connections = trackConnections(server, config.maxConnectionAgeMs);
  let current = material;
  const isRevoked = (serial: string) => current.crl?.revokedSerials.has(serial) ?? false;
  server.on('request', createApp({ allowedClients: config.allowedClients, connections, isRevoked, log }).callback());
  // A stale CRL fails closed: new handshakes are refused by OpenSSL, open connections are ended here.
  const expiry = watchCrlExpiry(log, () => log.info('connections_closed', { reason: 'CRL expired', ...connections.trustChanged() }));
  expiry.track(material.crl);
  const health = config.healthPort === undefined ? undefined : healthServer(material, () => (server.listening ? current : undefined));

  // A client retrying in a loop (or a scanner) would fill the log: the same failure from one
  // source is logged a few times each second, then counted in one line.
  const failures = rateLimit<{ remote: string; code: string }>(FAILURES_LOGGED_PER_SECOND, 1000, { remote: '(many)', code: '(any)' }, (kind, suppressed) =>
    log.warn('handshake_failed_suppressed', { ...kind, suppressed, inMs: 1000 }),
  );
  // The certificate a refused client presented is gone (Node frees it with the socket): the
  // reason and the address are what can be logged.
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    const address = connections.addressOf(socket);
    const failure = handshakeFailureReason(error, socket);
    const remote = address.remote ?? 'unknown';
    if (!failures.allow(`${remote} ${failure.code}`, { remote, code: failure.code })) return;
    log.warn('handshake_failed', { ...failure, ...address });
  });

  /**
   * Loads TLS_DIR and swaps it in, or refuses it and keeps the current material.
   * OpenSSL has checks of its own (key size, signature digest), so the new
   * contexts are built before anything is swapped. Never rejects.
   */
  async function swapIn(): Promise<boolean> {
    let next: ServerMaterial;
    try {
      next = await loadServerMaterial(config.tlsDir, current.crl);
      if (current.crl !== undefined && next.crl === undefined) {
        throw new TlsMaterialError(join(config.tlsDir, CRL_FILE), 'is gone: a missing file does not turn revocation checking off (restart the server to run without a CRL)');
      }
      const same = next.certificatePem === current.certificatePem && next.keyPem === current.keyPem && next.caPem === current.caPem;
      if (same && next.crl?.pem === current.crl?.pem) return true;
      tls.createSecureContext(tlsOptions(next));
    } catch (error) {
      const { file, problem } = error instanceof TlsMaterialError ? error : { file: config.tlsDir, problem: String((error as Error).message ?? error) };
      log.error('tls_reload_refused', {
        file,
        problem,
        keeping: current.certificate.fingerprint256,
        ...(current.crl === undefined ? {} : { keepingCrl: loggedCrl(current.crl) }),
      });
      return false;
    }
    server.setSecureContext(tlsOptions(next));
    health?.setSecureContext(healthTlsOptions(next));
    const trustChanged = next.caPem !== current.caPem;
    const crlChanged = next.crl?.pem !== current.crl?.pem;
    const revoked = newlyRevoked(current.crl, next.crl);
    // A new ca.crt decides which clients get in at all: say what it was and what it is.
    if (trustChanged) log.warn('trust_changed', { before: loggedTrust(current.ca), after: loggedTrust(next.ca) });
    current = next;
    log.info('tls_reloaded', { certificate: loggedCertificate(next.certificate) });
    // Every reload made a new secure context, with new session ticket keys: no
    // session from before resumes, every client makes a full, CRL-checked handshake.
    if (crlChanged && next.crl !== undefined) log.info('crl_loaded', { ...loggedCrl(next.crl), newlyRevoked: [...revoked] });
    if (crlChanged) expiry.track(next.crl);
    if (trustChanged) log.info('connections_closed', { reason: 'trust changed', ...connections.trustChanged() });
    else if (revoked.size > 0) log.info('connections_closed', { reason: 'certificate revoked', serials: [...revoked], ...connections.revoked(revoked) });
    return true;
  }

  // One reload at a time, in order: an older read must never replace a newer one.
  let reloading: Promise<boolean> = Promise.resolve(true);
  const reload = (): Promise<boolean> => (reloading = reloading.then(swapIn));

  const watcher = watchDirectory(config.tlsDir, () => void reload(), log);
  try {
    await listen(server, config.port, config.host);
    if (health !== undefined) await listen(health, config.healthPort ?? 0, '127.0.0.1');
  } catch (error) {
    // Half started is not started: let nothing keep the process alive or serving.
    watcher.close();
    server.close();
    health?.close();
    throw error;
  }
  const port = (server.address() as { port: number }).port;
  const healthPort = (health?.address() as { port: number } | undefined)?.port;

  async function close(): Promise<void> {
    watcher.close();
    failures.stop();
    expiry.stop();
    health?.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    await closed;
    clearTimeout(grace);
  }

  return { server, port, healthPort, reload, close };
}

function listen(server: https.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * The container health check's listener: loopback only, same certificate, no
 * client certificate asked. Probing the mTLS port instead would log a refused
 * handshake at every probe. It says which certificate the mTLS listener
 * serves, so that the probe compares with that, not with files on disk (a
 * refused reload leaves the old, working certificate in service).
 */
function healthServer(material: ServerMaterial, serving: () => ServerMaterial | undefined): https.Server {
  return https.createServer(healthTlsOptions(material), (request, response) => {
    const current = request.url === '/healthz' ? serving() : undefined;
    const body = current === undefined ? { status: 'not ready' } : { status: 'ok', serving: current.certificate.fingerprint256 };
    response.writeHead(current === undefined ? 503 : 200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  });
}

function healthTlsOptions(material: ServerMaterial): https.ServerOptions {
  return { cert: material.certificatePem, key: material.keyPem, minVersion: 'TLSv1.2' };
}
