import type { TLSSocket } from 'node:tls';
import { capped } from './log-fields.ts';

/**
 * Why a client's handshake failed, in words. OpenSSL's verdict on the client
 * certificate is on the socket (authorizationError); the error itself often
 * says only ECONNRESET because the server aborted the handshake.
 */
export function handshakeFailureReason(error: NodeJS.ErrnoException, socket: TLSSocket): { reason: string; code: string } {
  const verdict = (socket as TLSSocket & { authorizationError?: Error | string }).authorizationError;
  const verdictCode = typeof verdict === 'string' ? verdict : (verdict as NodeJS.ErrnoException | undefined)?.code;
  if (verdictCode !== undefined) {
    return { reason: VERIFY_REASONS[verdictCode] ?? `certificate rejected (${verdictCode})`, code: verdictCode };
  }
  const code = error.code ?? 'UNKNOWN';
  return { reason: ERROR_REASONS[code] ?? openSslReason(error) ?? code, code };
}

/**
 * OpenSSL's own words for an error we have no entry for. Its raw string
 * ("40BD8C41CB7F0000:error:0A000076:SSL routines:tls_choose_sigalg:no suitable
 * signature algorithm:../deps/openssl/…/t1_lib.c:4607:") carries a thread id and
 * build paths: only the reason part is kept.
 */
function openSslReason(error: NodeJS.ErrnoException & { reason?: unknown }): string | undefined {
  if (typeof error.reason === 'string' && error.reason !== '') return capped(error.reason);
  const raw = error.message.split('\n')[0] ?? '';
  const reason = /:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(raw)?.[1] ?? raw;
  return reason === '' ? undefined : capped(reason);
}

const UNKNOWN_CA = 'unknown CA';

const VERIFY_REASONS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNKNOWN_CA,
  UNABLE_TO_GET_ISSUER_CERT: UNKNOWN_CA,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNKNOWN_CA,
  SELF_SIGNED_CERT_IN_CHAIN: UNKNOWN_CA,
  DEPTH_ZERO_SELF_SIGNED_CERT: UNKNOWN_CA,
  CERT_SIGNATURE_FAILURE: 'bad certificate signature',
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  INVALID_PURPOSE: 'wrong key usage',
  INVALID_CA: 'issuer is not a CA',
  PATH_LENGTH_EXCEEDED: 'chain too long',
  CERT_REVOKED: 'certificate revoked',
  // With a CRL loaded, OpenSSL checks every CA of the chain (CRL_CHECK_ALL), and a stale CRL refuses everyone.
  CRL_HAS_EXPIRED: 'revocation list expired: every client is refused until a current crl.pem arrives',
  CRL_NOT_YET_VALID: 'revocation list not valid yet',
  UNABLE_TO_GET_CRL: 'no revocation list for a CA of the chain',
  CRL_SIGNATURE_FAILURE: 'bad revocation list signature',
  // What Node reports for OpenSSL 3 codes it has no name for, e.g. a chain through a leaf that is not a CA.
  UNSPECIFIED: 'certificate chain rejected (no specific reason from OpenSSL)',
};

const ERROR_REASONS: Record<string, string> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'peer did not return a certificate',
  // Also what a client that refuses *our* certificate (untrusted, wrong name) looks like from here.
  ECONNRESET: 'client hung up during the handshake',
  ERR_SSL_HTTP_REQUEST: 'plain HTTP sent to the TLS port',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not a TLS client hello',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'TLS version too old (TLS 1.2 is the minimum)',
  ERR_SSL_NO_SHARED_CIPHER: 'no cipher in common',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client does not trust our certificate (unknown CA)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client rejected our certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client rejected our certificate',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'client could not verify our signature',
};
