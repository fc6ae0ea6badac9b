import { excerpt, printable } from './printable.ts';

/** What went wrong, as a stable code and one sentence a person can act on. */
export interface Diagnosis {
  code: string;
  message: string;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

export interface FailureContext {
  host: string;
  port: string;
  presentedCertificate: boolean;
  /** The server certificate's names, when the handshake got far enough to see them. */
  serverNames: string[] | undefined;
  timeoutMs: number;
}

/**
 * Maps got/Node error codes to a diagnosis. A server that rejects our
 * certificate (unknown CA, expired, revoked, wrong key usage) just drops the
 * connection; it does not say why, so neither can we.
 */
export function diagnose(error: NodeJS.ErrnoException, context: FailureContext): Diagnosis {
  const code = error.code ?? 'UNKNOWN';
  const where = `${context.host}:${context.port}`;
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (code === 'EPROTO' && /alert number (40|116)\b/.test(error.message))) {
    return context.presentedCertificate
      ? { code: 'CERTIFICATE_REJECTED', message: `the server refused the handshake (${code})` }
      : { code: 'CERTIFICATE_REQUIRED', message: 'the server requires a client certificate and we did not send one' };
  }
  if ((code === 'ECONNRESET' || code === 'EPIPE') && !context.presentedCertificate) {
    return { code: 'CONNECTION_RESET', message: `the server at ${where} dropped the connection (${code})` };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return {
      code: 'CERTIFICATE_REJECTED',
      message:
        'the server dropped the connection during the handshake: it rejected our certificate ' +
        '(unknown CA, expired, revoked, or wrong key usage; a TLS server does not say which, its log does)',
    };
  }
  if (UNTRUSTED.has(code)) {
    return { code: 'SERVER_UNTRUSTED', message: `the server's certificate is not signed by a CA in our ca.crt (${code})` };
  }
  if (code === 'CERT_HAS_EXPIRED') return { code: 'SERVER_EXPIRED', message: "the server's certificate has expired" };
  if (code === 'CERT_NOT_YET_VALID') return { code: 'SERVER_NOT_YET_VALID', message: "the server's certificate is not valid yet" };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = context.serverNames === undefined ? '' : ` (it names ${printable(context.serverNames.join(', '))})`;
    return { code: 'HOSTNAME_MISMATCH', message: `"${context.host}" is not a name in the server's certificate${names}` };
  }
  if (code === 'ECONNREFUSED') return { code: 'CONNECTION_REFUSED', message: `connection refused: nothing listens on ${where}` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { code: 'HOST_NOT_FOUND', message: `cannot resolve the host name "${context.host}"` };
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') {
    return { code: 'TIMEOUT', message: `no answer from ${where} within ${context.timeoutMs} ms` };
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { code: 'UNREACHABLE', message: `${where} is unreachable (${code})` };
  return { code: 'FAILED', message: `${printable(code)}: ${printable(error.message.split('\n')[0] ?? '')}` };
}

/** How much of a server's body a diagnosis quotes. */
const QUOTED_CHARS = 200;

/**
 * A response that is not a success. A redirect is never followed: it would
 * send our request, and our certificate, wherever the server points
 * (another host, or plain HTTP).
 */
export function diagnoseResponse(status: number, location: string | undefined, body: string): Diagnosis {
  if (status >= 300 && status < 400) {
    const target = location === undefined ? 'gives no Location' : `points to ${printable(location)}`;
    return {
      code: 'REDIRECT_REFUSED',
      message: `the server answered ${status} and ${target}; a client that authenticates with a certificate follows no redirect`,
    };
  }
  const quoted = excerpt(body.trim(), QUOTED_CHARS);
  if (status === 403) {
    return { code: 'FORBIDDEN', message: `the server verified our certificate but does not allow us: ${quoted}` };
  }
  return { code: `HTTP_${status}`, message: `the server answered ${status}: ${quoted}` };
}

/** A body larger than we agreed to read: we stopped, and say so. */
export function bodyTooLarge(maxBytes: number): Diagnosis {
  return { code: 'BODY_TOO_LARGE', message: `the server sent more than ${maxBytes} bytes of body; we stopped reading` };
}

/** Connection attempts worth repeating while a server container starts; never a refused handshake. */
export const RETRYABLE_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'];
