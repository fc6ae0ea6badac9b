// The key types our certificates may carry, and how each one signs.
import { generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyOf } from './der.ts';
import { MtlsError } from './errors.ts';

export type KeyType = 'rsa' | 'ecdsa' | 'ed25519';
export const KEY_TYPES: readonly KeyType[] = ['rsa', 'ecdsa', 'ed25519'];
export type RsaBits = 2048 | 3072 | 4096;
export const RSA_BITS: readonly RsaBits[] = [2048, 3072, 4096];
export type Curve = 'P-256' | 'P-384';
export const CURVES: readonly Curve[] = ['P-256', 'P-384'];

/** Which key to make: RSA (2048 bits unless told), ECDSA (P-256 unless told) or Ed25519. */
export interface KeySpec {
  type: KeyType;
  rsaBits?: RsaBits;
  curve?: Curve;
}

/** A key we cannot certify or sign with; `message` is one line. */
export class KeyTypeError extends MtlsError {
  readonly code = 'EKEYTYPE';
}

/** A signature algorithm as certificates name it, and the digest node:crypto signs with (null: Ed25519 hashes itself). */
export interface SignatureAlgorithm {
  oid: string;
  digest: 'sha256' | 'sha384' | null;
  /** RSA's AlgorithmIdentifier carries NULL parameters; ECDSA's and Ed25519's carry none (RFC 5758, RFC 8410). */
  nullParameters: boolean;
}

const RSA_SHA256: SignatureAlgorithm = { oid: '1.2.840.113549.1.1.11', digest: 'sha256', nullParameters: true };
const ECDSA_SHA256: SignatureAlgorithm = { oid: '1.2.840.10045.4.3.2', digest: 'sha256', nullParameters: false };
const ECDSA_SHA384: SignatureAlgorithm = { oid: '1.2.840.10045.4.3.3', digest: 'sha384', nullParameters: false };
const ED25519: SignatureAlgorithm = { oid: '1.3.101.112', digest: null, nullParameters: false };

/** What we know about a supported key: its name, how it signs, which signatures by it we accept. */
interface KeyProfile {
  description: string;
  signature: SignatureAlgorithm;
  /** Also accepted on a CSR: `openssl req` signs with SHA-256 whatever the curve. */
  accepted: SignatureAlgorithm[];
  /** RSA key exchange (TLS 1.2 RSA suites) encrypts to the key; other keys only sign. */
  keyEncipherment: boolean;
}

const CURVE_NAMES: Record<string, Curve> = { prime256v1: 'P-256', secp384r1: 'P-384' };

function keyProfile(key: KeyObject): KeyProfile {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048 || bits > 8192) throw new KeyTypeError(`an RSA key of ${bits} bits is not accepted (2048 to 8192 bits)`);
      return { description: `RSA-${bits}`, signature: RSA_SHA256, accepted: [RSA_SHA256], keyEncipherment: true };
    }
    case 'ec': {
      const curve = CURVE_NAMES[details.namedCurve ?? ''];
      if (curve === undefined) throw new KeyTypeError(`an EC key on curve ${details.namedCurve ?? '(unnamed)'} is not accepted (P-256 or P-384)`);
      const signature = curve === 'P-256' ? ECDSA_SHA256 : ECDSA_SHA384;
      return { description: `ECDSA ${curve}`, signature, accepted: [signature, ECDSA_SHA256], keyEncipherment: false };
    }
    case 'ed25519':
      return { description: 'Ed25519', signature: ED25519, accepted: [ED25519], keyEncipherment: false };
    default:
      throw new KeyTypeError(`a key of type ${key.asymmetricKeyType ?? 'secret'} is not accepted (RSA, ECDSA P-256/P-384 or Ed25519)`);
  }
}

/** A new private key, made by OpenSSL off the main thread. */
export function generateKey(spec: KeySpec): Promise<KeyObject> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _publicKey: KeyObject, privateKey: KeyObject) => (error ? reject(error) : resolve(privateKey));
    switch (spec.type) {
      case 'rsa': {
        const bits = spec.rsaBits ?? 2048;
        if (!RSA_BITS.includes(bits)) throw new KeyTypeError(`RSA keys are ${RSA_BITS.join(', ')} bits, not ${bits}`);
        return generateKeyPair('rsa', { modulusLength: bits }, done);
      }
      case 'ecdsa': {
        const curve = spec.curve ?? 'P-256';
        if (!CURVES.includes(curve)) throw new KeyTypeError(`ECDSA keys are on ${CURVES.join(' or ')}, not ${curve}`);
        return generateKeyPair('ec', { namedCurve: curve }, done);
      }
      case 'ed25519':
        return generateKeyPair('ed25519', undefined, done);
      default:
        throw new KeyTypeError(`unknown key type ${String((spec as { type: unknown }).type)}`);
    }
  });
}

/** PKCS#8 PEM, the format `openssl genpkey` writes and every TLS stack reads, for every key type. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** "RSA-2048", "ECDSA P-256", "Ed25519"; throws KeyTypeError for a key we do not accept. */
export function describeKey(key: KeyObject): string {
  return keyProfile(key).description;
}

/** The same words for a spec, before any key exists. */
export function describeKeySpec(spec: KeySpec): string {
  if (spec.type === 'rsa') return `RSA-${spec.rsaBits ?? 2048}`;
  return spec.type === 'ecdsa' ? `ECDSA ${spec.curve ?? 'P-256'}` : 'Ed25519';
}

/** The signature algorithm certificates and CSRs signed by this key carry. */
export function signatureAlgorithmOf(key: KeyObject): SignatureAlgorithm {
  return keyProfile(key).signature;
}

/** Whether a certificate for this key may say keyEncipherment (RSA only). */
export function allowsKeyEncipherment(key: KeyObject): boolean {
  return keyProfile(key).keyEncipherment;
}

/** Signs `data` with the key's own algorithm: PKCS#1 v1.5 for RSA, DER-encoded ECDSA, pure Ed25519. */
export function signWith(key: KeyObject, data: Buffer): Buffer {
  return sign(keyProfile(key).signature.digest, data, key);
}

/**
 * Checks a signature made with `algorithm` by the holder of `publicKey`; false
 * also when that algorithm is not one we accept for this key.
 */
export function verifyWith(publicKey: KeyObject, algorithm: SignatureAlgorithm, data: Buffer, signature: Buffer): boolean {
  const key = publicKeyOf(publicKey);
  if (!keyProfile(key).accepted.some((accepted) => accepted.oid === algorithm.oid)) return false;
  return verify(algorithm.digest, data, key, signature);
}

/** The algorithm an AlgorithmIdentifier names, if it is one we know. */
export function signatureAlgorithmByOid(oid: string | undefined): SignatureAlgorithm | undefined {
  return [RSA_SHA256, ECDSA_SHA256, ECDSA_SHA384, ED25519].find((algorithm) => algorithm.oid === oid);
}
