import type { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import got from 'got';
import { jsonLines, type Emit } from '../../core/json-lines.ts';
import { renewalTime } from '../../core/renewal.ts';
import type { TlsMaterial } from '../../core/tls-material.ts';
import type { ClientConfig } from './config.ts';
import { diagnose, RETRYABLE_CODES } from './diagnosis.ts';
import type { LoopConfig } from './loop-config.ts';
import { followMaterial, readCurrentMaterial } from './material-watch.ts';
import { Traffic, type ConnectionKind } from './traffic.ts';

// A server slower than the rate would otherwise pile up requests without bound.
const MAX_IN_FLIGHT = 256;

/**
 * Everything made with one set of material: an agent for new connections
 * and one for the kept-alive connection, each with its own TLS session
 * cache. Nothing is shared across generations, so no connection or session
 * made with an old certificate is used once new material is in.
 */
interface Generation {
  material: TlsMaterial;
  serial: string;
  agents: Record<ConnectionKind, https.Agent>;
  inFlight: number;
  retired: boolean;
  retireTimer: NodeJS.Timeout | undefined;
  /** The server certificate of this generation's latest full handshake: what its resumed sessions were made with. */
  lastServerCertificate: X509Certificate | undefined;
  /** Opened for a certificate that had already expired: not to be replaced again for that reason. */
  expiredOnce: boolean;
}

function openGeneration(material: TlsMaterial): Generation {
  const generation: Generation = {
    material,
    serial: material.certificate.serialNumber,
    agents: {
      // keepAlive false: a new TCP connection and TLS handshake per request (resumed from this agent's cache).
      new: new https.Agent({ keepAlive: false }),
      'kept-alive': new https.Agent({ keepAlive: true, maxSockets: 1 }),
    },
    inFlight: 0,
    retired: false,
    retireTimer: undefined,
    lastServerCertificate: undefined,
    expiredOnce: false,
  };
  // Asked each time the connection is free again, before the agent reuses it (for a queued
  // request) or keeps it: once either side's certificate is past its renewal point the
  // connection is closed instead, so it never outlives the certificates it was authenticated
  // with (even when new material is late). A connection whose server certificate we cannot
  // name is closed too: one more handshake is cheap. The agent opens a new connection for
  // a request still waiting.
  generation.agents['kept-alive'].prependListener('free', (socket: TLSSocket) => {
    const now = new Date();
    const server = serverCertificates.get(socket);
    if (pastRenewalPoint(material.certificate, now) || server === undefined || pastRenewalPoint(server, now)) socket.destroy();
  });
  return generation;
}

// Which server certificate a connection was authenticated with. A resumed TLS 1.3 session
// carries no certificate; it stands for the full handshake it was resumed from.
const serverCertificates = new WeakMap<TLSSocket, X509Certificate | undefined>();

function noteServerCertificate(generation: Generation, socket: TLSSocket): void {
  if (serverCertificates.has(socket)) return; // a kept-alive connection, seen before
  const note = () => {
    const certificate = socket.isSessionReused() ? generation.lastServerCertificate : socket.getPeerX509Certificate();
    if (!socket.isSessionReused()) generation.lastServerCertificate = certificate;
    serverCertificates.set(socket, certificate);
  };
  // On a loaded machine the handshake can finish before we get to listen for it.
  if (socket.getFinished() !== undefined) note();
  else socket.once('secureConnect', note);
}

function pastRenewalPoint(certificate: X509Certificate, now: Date): boolean {
  return now >= renewalTime({ notBefore: certificate.validFromDate, notAfter: certificate.validToDate }, () => 0);
}

/**
 * Stops a generation taking requests; closes its connections and drops its
 * sessions once its in-flight requests are done, and at the latest after one
 * request timeout: long before its certificate expires, as renewal happens
 * at 2/3 of the lifetime.
 */
function retire(generation: Generation, graceMs: number): void {
  generation.retired = true;
  if (generation.inFlight === 0) close(generation);
  else generation.retireTimer ??= setTimeout(() => close(generation), graceMs);
}

function close(generation: Generation): void {
  clearTimeout(generation.retireTimer);
  generation.agents.new.destroy();
  generation.agents['kept-alive'].destroy();
}

/**
 * Continuous traffic until `stop` aborts: REQUEST_RATE requests a second,
 * alternating between a new connection and the kept-alive one; new material
 * in TLS_DIR is picked up without dropping a request. Prints a JSON line per
 * failed request and a cumulative `traffic` summary; returns the exit code
 * (0: not one request failed).
 */
export async function runLoop(config: ClientConfig, loop: LoopConfig, emit: Emit, stop: AbortSignal): Promise<number> {
  const traffic = new Traffic();
  const initial = await readCurrentMaterial(config.tlsDir);
  let current = openGeneration(initial);
  const startedAt = Date.now();
  let serverAnswered = false;

  emit('loop_started', { url: config.url.href, ratePerSecond: loop.ratePerSecond, certificate: describe(initial) });
  const follower = followMaterial(config.tlsDir, initial, loop.pollEveryMs, {
    changed(next) {
      const previous = current;
      current = openGeneration(next);
      traffic.reloads++;
      emit('tls_reloaded', { ...describe(next), previousSerial: previous.serial });
      retire(previous, config.timeoutMs + 100);
    },
    refused(file, problem) {
      emit('tls_reload_refused', { file, problem, keeping: current.serial });
    },
  });

  // Our certificate expired and no new one came: drop every connection and TLS session made
  // with it, so that each request is a full handshake the server judges anew (an old session
  // would still resume on a server that does not check), and fails honestly.
  const dropExpired = () => {
    const stale = current;
    if (stale.expiredOnce || Date.now() < stale.material.certificate.validToDate.getTime()) return;
    current = openGeneration(stale.material);
    current.expiredOnce = true;
    emit('certificate_expired', { ...describe(stale.material), action: 'closed its connections and sessions; waiting for new material' });
    retire(stale, config.timeoutMs + 100);
  };

  const send = async (kind: ConnectionKind) => {
    dropExpired();
    const generation = current;
    generation.inFlight++;
    let serverSerial: string | undefined;
    let resumed = false;
    try {
      const request = got(config.url, {
        agent: { https: generation.agents[kind] },
        https: {
          certificate: generation.material.certificatePem,
          key: generation.material.keyPem,
          certificateAuthority: generation.material.caPem,
          minVersion: 'TLSv1.2',
        },
        timeout: { request: config.timeoutMs },
        // Every failure counts: a retry would hide exactly what this loop is here to show.
        retry: { limit: 0 },
        throwHttpErrors: false,
      });
      // Read when the answer arrives: got's response does not hold the socket, and once the
      // request is done the socket is closed (new connection) or back in the pool (kept alive).
      let socket: TLSSocket | undefined;
      request.on('request', (clientRequest) =>
        clientRequest.once('socket', (s: TLSSocket) => {
          socket = s;
          noteServerCertificate(generation, s);
        }),
      );
      request.on('response', () => {
        serverSerial = socket === undefined ? undefined : serverCertificates.get(socket)?.serialNumber;
        resumed = socket?.isSessionReused() ?? false;
      });
      const response = await request;
      serverAnswered = true;
      if (response.ok) traffic.succeeded(kind, generation.serial, serverSerial, resumed);
      else fail(kind, generation, { code: `HTTP_${response.statusCode}`, message: `the server answered ${response.statusCode}: ${response.body.trim()}` });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (!serverAnswered && RETRYABLE_CODES.includes(code) && Date.now() - startedAt < config.waitForServerMs) {
        traffic.waitingForServer++;
        return;
      }
      const diagnosis = diagnose(error as NodeJS.ErrnoException, {
        host: config.url.hostname.replace(/^\[|\]$/g, ''),
        port: config.url.port || '443',
        presentedCertificate: true,
        serverNames: undefined,
        timeoutMs: config.timeoutMs,
      });
      fail(kind, generation, { ...diagnosis, error: code });
    } finally {
      generation.inFlight--;
      if (generation.retired && generation.inFlight === 0) close(generation);
    }
  };

  const fail = (kind: ConnectionKind, generation: Generation, why: Record<string, string>) => {
    traffic.failedOn(kind);
    emit('request_failed', { connection: kind, ...why, clientSerial: generation.serial, reloads: traffic.reloads });
  };

  const pending = new Set<Promise<void>>();
  let sent = 0;
  const ticker = setInterval(() => {
    if (pending.size >= MAX_IN_FLIGHT) return void traffic.skipped++;
    const request = send(sent++ % 2 === 0 ? 'kept-alive' : 'new').finally(() => pending.delete(request));
    pending.add(request);
  }, 1000 / loop.ratePerSecond);
  const summaries = setInterval(() => emit('traffic', traffic.summary()), loop.summaryEveryMs);

  if (!stop.aborted) await once(stop, 'abort');
  clearInterval(ticker);
  follower.close();
  // Requests already sent finish (each bounded by the request timeout) and are counted.
  await Promise.all(pending);
  clearInterval(summaries);
  retire(current, 0);
  emit('traffic', { ...traffic.summary(), final: true });
  return traffic.failed === 0 ? 0 : 1;
}

function describe(material: TlsMaterial): Record<string, string> {
  return {
    serial: material.certificate.serialNumber,
    notBefore: material.certificate.validFromDate.toISOString(),
    notAfter: material.certificate.validToDate.toISOString(),
    fingerprint256: material.certificate.fingerprint256,
  };
}

/** The loop as a process: JSON lines on stdout, until SIGTERM or SIGINT; resolves to the exit code. */
export async function runLoopProcess(config: ClientConfig, loop: LoopConfig): Promise<number> {
  const stop = new AbortController();
  // PID 1 in a container gets no default signal handling: stop cleanly ourselves.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
  return runLoop(config, loop, jsonLines(), stop.signal);
}
