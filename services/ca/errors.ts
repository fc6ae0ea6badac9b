/**
 * Why the CA refused a request: an HTTP status, a stable code that scripts and
 * agents match on, and one line for people. Codes are the contract; messages may change.
 */
export type RefusalCode =
  | 'BODY_INVALID'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'TOKEN_REQUIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_USED'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_WRONG_ROLE'
  | 'CERTIFICATE_REQUIRED'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_UNKNOWN'
  | 'CERTIFICATE_REVOKED'
  | 'CERTIFICATE_SUPERSEDED'
  | 'CSR_INVALID'
  | 'KEY_REUSED'
  | 'NOT_FOUND'
  | 'CERTIFICATE_NOT_FOUND'
  | 'ROLE_FORBIDDEN'
  | 'REVOCATION_INVALID'
  | 'METHOD_NOT_ALLOWED';

const STATUS: Record<RefusalCode, number> = {
  BODY_INVALID: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOKEN_REQUIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_USED: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_WRONG_ROLE: 403,
  CERTIFICATE_REQUIRED: 401,
  CERTIFICATE_EXPIRED: 401,
  CERTIFICATE_UNKNOWN: 401,
  CERTIFICATE_REVOKED: 401,
  CERTIFICATE_SUPERSEDED: 403,
  CSR_INVALID: 400,
  KEY_REUSED: 400,
  NOT_FOUND: 404,
  CERTIFICATE_NOT_FOUND: 404,
  ROLE_FORBIDDEN: 403,
  REVOCATION_INVALID: 400,
  METHOD_NOT_ALLOWED: 405,
};

export class Refusal extends Error {
  readonly code: RefusalCode;
  readonly status: number;
  /** What the log line may add about who asked (never a token). */
  readonly details: Record<string, unknown>;

  constructor(code: RefusalCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }
}
