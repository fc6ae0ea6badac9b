import type { CaContext, IssuedResponse } from './context.ts';
import type { TokenRecord } from './database.ts';
import { csrFrom, refuseKnownKey, type CsrInput } from './csr-input.ts';
import { Refusal } from './errors.ts';
import { responseOf, signLeaf, type IssuedCertificate } from './issuance.ts';
import { hashToken, isWellFormedToken } from './tokens.ts';

/**
 * POST /enroll: a one-time token plus a CSR. The certificate is for the
 * identity and role the token was minted for, whatever the CSR names. Every
 * check runs before the token is spent, so a bad CSR does not burn it.
 */
export function enroll(context: CaContext, body: Record<string, unknown>): Enrollment {
  const now = context.now();
  let token: TokenRecord;
  try {
    token = tokenOf(context, body, now);
  } catch (error) {
    const replay = error instanceof Refusal && error.code === 'TOKEN_USED' ? replayOf(context, body, now) : undefined;
    if (replay === undefined) throw error;
    return replay;
  }
  const input = csrFrom(body);
  refuseKnownKey(context.db, input, token.identity);
  const issued = context.db.transaction(() => {
    // The same token in two requests at once: only one UPDATE finds it unused.
    if (!context.db.spendToken(token.hash, now)) throw new Refusal('TOKEN_USED', 'this enrollment token was already used', { identity: token.identity });
    const leaf = signLeaf(context.authority, context.certTtlMs, { identity: token.identity, role: token.role, request: input, via: 'enroll' }, now);
    // Kept whole, so that a retry whose answer was lost gets it again (replayOf).
    context.db.insertCertificate(leaf.record, leaf.pem);
    return leaf;
  });
  return { response: responseOf(context, issued), issued, input, replayed: false };
}

/** What /enroll did: a new certificate, or (replayed) the one an earlier request with this token and key got. */
export interface Enrollment {
  response: IssuedResponse;
  issued: Pick<IssuedCertificate, 'record'>;
  input: CsrInput;
  replayed: boolean;
}

/**
 * A used token enrolls nothing new. A retry whose answer was lost brings the
 * same token and a CSR for the same key (its signature proves the sender
 * holds the key), and gets the certificate that token enrolled, while it is
 * current; anything else stays refused as TOKEN_USED.
 */
function replayOf(context: CaContext, body: Record<string, unknown>, now: Date): Enrollment | undefined {
  const token = context.db.findToken(hashToken(body['token'] as string));
  let input: CsrInput;
  try {
    input = csrFrom(body);
  } catch {
    return undefined;
  }
  const enrolled = context.db.certifiedKey(input.keyFingerprint256);
  if (token === undefined || enrolled === undefined || enrolled.pem === null) return undefined;
  const { record, pem } = enrolled;
  // The token was spent by the enrollment that issued this certificate: one transaction, one time.
  const same = record.issuedVia === 'enroll' && record.issuedAt === token.usedAt && record.identity === token.identity && record.role === token.role;
  if (!same || record.status !== 'issued' || record.notAfter <= now.toISOString()) return undefined;
  return { response: responseOf(context, { pem, record }), issued: { record }, input, replayed: true };
}

function tokenOf(context: CaContext, body: Record<string, unknown>, now: Date): TokenRecord {
  const token = body['token'];
  if (token === undefined || token === null || token === '') throw new Refusal('TOKEN_REQUIRED', 'the body needs "token": the enrollment token minted by init');
  if (typeof token !== 'string' || !isWellFormedToken(token)) throw new Refusal('TOKEN_INVALID', 'the token is not an enrollment token (43 base64url characters)');
  const record = context.db.findToken(hashToken(token));
  if (record === undefined) throw new Refusal('TOKEN_INVALID', 'this CA never minted this token');
  const who = { identity: record.identity, role: record.role };
  if (record.usedAt !== null) throw new Refusal('TOKEN_USED', `this enrollment token was already used (at ${record.usedAt}), or replaced by a later init at that time`, who);
  if (record.expires <= now.toISOString()) throw new Refusal('TOKEN_EXPIRED', `this enrollment token expired at ${record.expires}`, who);
  const role = body['role'];
  if (role !== undefined && role !== record.role) {
    throw new Refusal('TOKEN_WRONG_ROLE', `this token enrolls a ${record.role}, not a ${String(role)}`, { ...who, askedRole: String(role) });
  }
  return record;
}
