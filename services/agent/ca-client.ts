import https from 'node:https';
import got, { type Response } from 'got';
import { MtlsError } from '../../core/errors.ts';

/** What the CA answers to an enrollment or a renewal. */
export interface Issued {
  certificatePem: string;
  caPem: string;
}

/** The CA refused, answered nonsense, or could not be reached; `code` is the CA's error code or the network's. */
export class CaError extends MtlsError {
  readonly code: string;
  /** The HTTP status, when the CA answered at all. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export interface CaEndpoint {
  url: URL;
  /** The CA certificate(s) the CA's serving certificate must chain to. */
  trustPem: string;
  timeoutMs: number;
}

/** POST /enroll: the one-time token is the credential. */
export function enroll(ca: CaEndpoint, token: string, csr: string): Promise<Issued> {
  return post(ca, 'enroll', { token, csr }, undefined);
}

/** POST /renew over mutual TLS: the current, still valid certificate is the credential. */
export function renew(ca: CaEndpoint, current: { certificatePem: string; keyPem: string }, csr: string): Promise<Issued> {
  return post(ca, 'renew', { csr }, current);
}

async function post(ca: CaEndpoint, path: string, body: object, identity: { certificatePem: string; keyPem: string } | undefined): Promise<Issued> {
  // A fresh agent without a session cache for every call: a resumed TLS
  // session would present the certificate of the handshake it came from,
  // not the one we hold now.
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
  let response: Response<string>;
  try {
    response = await got.post(new URL(path, ca.url), {
      json: body,
      agent: { https: agent },
      https: {
        certificateAuthority: ca.trustPem,
        certificate: identity?.certificatePem,
        key: identity?.keyPem,
        minVersion: 'TLSv1.2',
      },
      timeout: { request: ca.timeoutMs },
      // The agent's own backoff decides when to try again, with the certificate's time left in mind.
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'text',
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'UNREACHABLE';
    throw new CaError(code, `cannot reach the CA at ${ca.url.origin}: ${firstLine((error as Error).message)}`);
  } finally {
    agent.destroy();
  }
  return parseAnswer(response.statusCode, response.body);
}

function parseAnswer(status: number, text: string): Issued {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CaError('CA_BAD_RESPONSE', `the CA answered ${status} with a body that is not JSON`, status);
  }
  if (status < 200 || status > 299) {
    const code = typeof body['error'] === 'string' ? body['error'] : `HTTP_${status}`;
    const message = typeof body['message'] === 'string' ? body['message'] : `the CA answered ${status}`;
    throw new CaError(code, message, status);
  }
  const { certificate, ca } = body;
  if (typeof certificate !== 'string' || typeof ca !== 'string') {
    throw new CaError('CA_BAD_RESPONSE', `the CA answered ${status} without "certificate" and "ca" PEM strings`, status);
  }
  return { certificatePem: certificate, caPem: ca };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
