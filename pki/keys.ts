import type { KeyObject } from 'node:crypto';
import { describeKey, generateKey, KeyTypeError, type KeySpec } from '../core/x509.ts';

/**
 * Hands out keys of one kind; the first `ahead` start generating at once, in
 * parallel on the thread pool, for a caller that knows it will need them all
 * (RSA keys take tens of milliseconds each; ECDSA and Ed25519 well under one).
 */
export function keySupply(spec: KeySpec, ahead: number): () => Promise<KeyObject> {
  const started = Array.from({ length: ahead }, () => generateKey(spec));
  return () => started.shift() ?? generateKey(spec);
}

/** "RSA-2048", "ECDSA P-256", "Ed25519", or why the key is none this PKI issues (then it is re-issued, not a crash). */
export function keyKind(key: KeyObject): string {
  try {
    return describeKey(key);
  } catch (error) {
    if (error instanceof KeyTypeError) return `unusable (${error.message})`;
    throw error;
  }
}
