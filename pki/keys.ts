import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateRsaKeyPair = promisify(generateKeyPair);

export type KeySize = 2048 | 3072 | 4096;
export const KEY_SIZES: readonly KeySize[] = [2048, 3072, 4096];

/**
 * RSA keys come from node:crypto (OpenSSL, off the main thread): node-forge's
 * pure-JavaScript generator takes seconds per key.
 */
export async function generateKey(size: KeySize): Promise<KeyObject> {
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: size });
  return privateKey;
}

/** PKCS#8 PEM, the format `openssl genpkey` writes and every TLS stack reads. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** node-forge builds certificates around its own key type; only the public half crosses over. */
export function toForgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return forge.pki.publicKeyFromPem(spki) as forge.pki.rsa.PublicKey;
}

/**
 * Hands out keys of one size; the first `ahead` start generating at once, in
 * parallel on the thread pool, for a caller that knows it will need them all.
 */
export function keySupply(size: KeySize, ahead: number): () => Promise<KeyObject> {
  const started = Array.from({ length: ahead }, () => generateKey(size));
  return () => started.shift() ?? generateKey(size);
}
