import { X509Certificate } from 'node:crypto';
import tls, { type PeerCertificate, type TLSSocket } from 'node:tls';
import got from 'got';
import { summarizeCertificate, type CertificateSummary } from '../../core/certificate.ts';
import type { ClientMaterial } from './material.ts';
import type { ClientConfig } from './config.ts';
import { bodyTooLarge, diagnose, diagnoseResponse, RETRYABLE_CODES, type Diagnosis } from './diagnosis.ts';

/** The most body we read; our server's answers are a line or two. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What one request over mutual TLS showed. */
export interface Exchange {
  server: CertificateSummary | undefined;
  protocol: string | undefined;
  cipher: string | undefined;
  /** Our end and the server's end of the last TCP connection, as "address:port". */
  connection: { local: string; remote: string } | undefined;
  status: number | undefined;
  statusMessage: string | undefined;
  /** Where a redirect pointed (never followed). */
  location: string | undefined;
  body: string | undefined;
  attempts: number;
  failure: Diagnosis | undefined;
}

/**
 * One GET over mTLS: present our certificate (if we have one), trust only
 * ca.crt, check the server's host name against its SANs. Retries only while
 * the server is not reachable yet.
 */
export async function exchange(config: ClientConfig, material: ClientMaterial): Promise<Exchange> {
  let serverCertificate: PeerCertificate | undefined;
  let session: { protocol: string | undefined; cipher: string | undefined } = { protocol: undefined, cipher: undefined };
  let connection: Exchange['connection'];
  let attempts = 0;
  const startedAt = Date.now();
  const abort = new AbortController();
  let overSize = false;
  const request = got(config.url, {
    // A redirect would take our request, and our certificate, wherever the server points.
    followRedirect: false,
    signal: abort.signal,
    https: {
      certificate: material.certificatePem,
      key: material.keyPem,
      certificateAuthority: material.caPem,
      minVersion: 'TLSv1.2',
      // The default check, unchanged; wrapped only to remember what the server presented.
      checkServerIdentity: (host, cert) => {
        serverCertificate = cert;
        return tls.checkServerIdentity(host, cert);
      },
    },
    timeout: { request: config.timeoutMs },
    throwHttpErrors: false,
    retry: {
      limit: 100, // bounded by time below, not count
      methods: ['GET'],
      statusCodes: [],
      errorCodes: RETRYABLE_CODES,
      calculateDelay: ({ attemptCount, computedValue }) => {
        if (computedValue === 0 || Date.now() - startedAt >= config.waitForServerMs) return 0;
        return Math.min(250 * 2 ** (attemptCount - 1), 2000);
      },
    },
  });
  // got counts the bytes it hands over, after decompression: a small gzip that
  // inflates to gigabytes is cut off at the cap like any other body.
  request.on('downloadProgress', ({ transferred, total }) => {
    if (transferred > MAX_BODY_BYTES || (total ?? 0) > MAX_BODY_BYTES) {
      overSize = true;
      abort.abort();
    }
  });
  request.on('request', (clientRequest) => {
    attempts++;
    clientRequest.once('socket', (socket: TLSSocket) => {
      // The TCP connection's two ends: what the server's log names this connection by.
      socket.once('connect', () => {
        connection = { local: `${socket.localAddress}:${socket.localPort}`, remote: `${socket.remoteAddress}:${socket.remotePort}` };
      });
      socket.once('secureConnect', () => {
        session = { protocol: socket.getProtocol() ?? undefined, cipher: socket.getCipher().standardName };
      });
    });
  });
  try {
    const response = await request;
    return {
      server: summarize(serverCertificate),
      ...session,
      connection,
      status: response.statusCode,
      statusMessage: response.statusMessage,
      location: response.headers.location,
      body: response.body,
      attempts,
      failure: isSuccess(response.statusCode) ? undefined : diagnoseResponse(response.statusCode, response.headers.location, response.body),
    };
  } catch (error) {
    const server = summarize(serverCertificate);
    const failure = overSize ? bodyTooLarge(MAX_BODY_BYTES) : diagnose(error as NodeJS.ErrnoException, {
      host: config.url.hostname.replace(/^\[|\]$/g, ''),
      port: config.url.port || '443',
      presentedCertificate: material.certificatePem !== undefined,
      serverNames: server?.subjectAltNames,
      timeoutMs: config.timeoutMs,
    });
    const none = { status: undefined, statusMessage: undefined, location: undefined, body: undefined };
    return { server, ...session, connection, ...none, attempts, failure };
  }
}

function summarize(cert: PeerCertificate | undefined): CertificateSummary | undefined {
  return cert?.raw === undefined ? undefined : summarizeCertificate(new X509Certificate(cert.raw));
}

/** 2xx only: got counts a 3xx as "ok" when it does not follow redirects. */
function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}
