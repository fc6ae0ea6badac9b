import { createHash, type KeyObject } from 'node:crypto';
import { publicKeyInfo } from './der.ts';

/**
 * SHA-256 of the public key (its SubjectPublicKeyInfo DER), spelled like
 * X509Certificate#fingerprint256. Two certificates with the same key have the
 * same key fingerprint whatever their serials: this is how a renewal proves it
 * brought a new key.
 */
export function keyFingerprint256(key: KeyObject): string {
  return (createHash('sha256').update(publicKeyInfo(key).der).digest('hex').toUpperCase().match(/../g) ?? []).join(':');
}
