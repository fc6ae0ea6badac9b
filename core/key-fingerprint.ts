import { createHash, type KeyObject } from 'node:crypto';
import { publicKeyInfo } from './der.ts';

/**
 * SHA-256 of the public key (its SubjectPublicKeyInfo DER), spelled like
 * X509Certificate#fingerprint256. Two certificates with the same key have the
 * same key fingerprint whatever their serials: this is how a renewal proves it
 * brought a new key.
 */
export function keyFingerprint256(key: KeyObject): string {
  return fingerprint256(publicKeyInfo(key).der);
}

/** SHA-256 of DER bytes, spelled like X509Certificate#fingerprint256 (of a certificate's DER, it is that). */
export function fingerprint256(der: Buffer): string {
  return (createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g) ?? []).join(':');
}
