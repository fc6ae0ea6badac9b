import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;
// 32 bytes in base64url, without padding, are exactly 43 characters.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A new enrollment token: 256 random bits, printable, safe in JSON and in a file. */
export function mintToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * What the database keeps instead of the token. A token carries 256 random bits,
 * so nobody can guess one from its hash: no salt or slow hash is needed (those
 * protect low-entropy passwords).
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function isWellFormedToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}
