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
export function enroll(context: CaContext, body: Record<string, unknown>): { response: IssuedResponse; issued: IssuedCertificate; input: CsrInput } {
  const now = context.now();
  const token = tokenOf(context, body, now);
  const input = csrFrom(body);
  refuseKnownKey(context.db, input, token.identity);
  const issued = context.db.transaction(() => {
    // The same token in two requests at once: only one UPDATE finds it unused.
    if (!context.db.spendToken(token.hash, now)) throw new Refusal('TOKEN_USED', 'this enrollment token was already used', { identity: token.identity });
    const leaf = signLeaf(context.authority, context.certTtlMs, { identity: token.identity, role: token.role, request: input, via: 'enroll' }, now);
    context.db.insertCertificate(leaf.record);
    return leaf;
  });
  return { response: responseOf(context, issued), issued, input };
}

function tokenOf(context: CaContext, body: Record<string, unknown>, now: Date): TokenRecord {
  const token = body['token'];
  if (token === undefined || token === null || token === '') throw new Refusal('TOKEN_REQUIRED', 'the body needs "token": the enrollment token minted by init');
  if (typeof token !== 'string' || !isWellFormedToken(token)) throw new Refusal('TOKEN_INVALID', 'the token is not an enrollment token (43 base64url characters)');
  const record = context.db.findToken(hashToken(token));
  if (record === undefined) throw new Refusal('TOKEN_INVALID', 'this CA never minted this token');
  const who = { identity: record.identity, role: record.role };
  if (record.usedAt !== null) throw new Refusal('TOKEN_USED', `this enrollment token was already used (at ${record.usedAt})`, who);
  if (record.expires <= now.toISOString()) throw new Refusal('TOKEN_EXPIRED', `this enrollment token expired at ${record.expires}`, who);
  const role = body['role'];
  if (role !== undefined && role !== record.role) {
    throw new Refusal('TOKEN_WRONG_ROLE', `this token enrolls a ${record.role}, not a ${String(role)}`, { ...who, askedRole: String(role) });
  }
  return record;
}
