// The key types the benchmarks compare: how our PKI is asked for each, how the
// openssl CLI makes the same key, and which `openssl speed` figures are its floor.
import { execFileSync } from 'node:child_process';
import type { PkiOptionsInit } from '../pki/options.ts';
import { describeKeySpec, type KeySpec } from '../core/key-types.ts';

export interface KeyKind {
  /** As the PKI's report names it: "RSA-2048", "ECDSA P-256", "Ed25519". */
  label: string;
  /** What to ask the PKI for, in process. */
  pki: Pick<PkiOptionsInit, 'keyType' | 'keySize' | 'curve'>;
  /** The same, as flags for `npm run pki`. */
  pkiArgs: string[];
  /** `openssl genpkey` flags for the same key. */
  genpkey: string[];
  /** Ed25519 signs the message itself: openssl refuses a digest flag for it. */
  digest: string;
  keyUsage: string;
  /** `openssl speed` algorithm, and the line that reports sign/s and verify/s. */
  speed: string;
  speedLine: RegExp;
}

const RSA_USAGE = 'critical,digitalSignature,keyEncipherment';
const SIGN_ONLY = 'critical,digitalSignature';
const RATES = String.raw`\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)`;

/** Label and PKI request from the key type itself, so that the bench offers only what the PKI makes. */
function asked(spec: KeySpec): Pick<KeyKind, 'label' | 'pki' | 'pkiArgs'> {
  const pki = { keyType: spec.type, keySize: spec.rsaBits, curve: spec.curve };
  const pkiArgs = ['--key-type', spec.type, ...(spec.rsaBits === undefined ? [] : ['--key-size', String(spec.rsaBits)]), ...(spec.curve === undefined ? [] : ['--curve', spec.curve])];
  return { label: describeKeySpec(spec), pki, pkiArgs };
}

export const KEY_KINDS: KeyKind[] = [
  { ...asked({ type: 'rsa', rsaBits: 2048 }), genpkey: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], digest: '-sha256', keyUsage: RSA_USAGE, speed: 'rsa2048', speedLine: new RegExp(`rsa\\s+2048 bits${RATES}`) },
  { ...asked({ type: 'rsa', rsaBits: 3072 }), genpkey: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], digest: '-sha256', keyUsage: RSA_USAGE, speed: 'rsa3072', speedLine: new RegExp(`rsa\\s+3072 bits${RATES}`) },
  { ...asked({ type: 'ecdsa', curve: 'P-256' }), genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], digest: '-sha256', keyUsage: SIGN_ONLY, speed: 'ecdsap256', speedLine: new RegExp(`ecdsa \\(nistp256\\)${RATES}`) },
  { ...asked({ type: 'ed25519' }), genpkey: ['-algorithm', 'ED25519'], digest: '', keyUsage: SIGN_ONLY, speed: 'ed25519', speedLine: new RegExp(`EdDSA \\(Ed25519\\)${RATES}`) },
];

/** Picks kinds by label ("RSA-2048,Ed25519"); undefined names the first unknown one. */
export function pickKinds(list: string): { kinds: KeyKind[]; unknown?: string } {
  const kinds: KeyKind[] = [];
  for (const name of list.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const kind = KEY_KINDS.find((candidate) => candidate.label.toLowerCase() === name.toLowerCase());
    if (kind === undefined) return { kinds, unknown: name };
    kinds.push(kind);
  }
  return { kinds };
}

export interface SignatureSpeed {
  signPerSecond: number;
  verifyPerSecond: number;
}

/** One core's sign and verify rates for this key type, from the openssl CLI (its own libcrypto, not Node's). */
export function opensslSpeed(kind: KeyKind): SignatureSpeed | undefined {
  try {
    const output = execFileSync('openssl', ['speed', '-seconds', '1', kind.speed], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    const match = kind.speedLine.exec(output);
    return match === null ? undefined : { signPerSecond: Number(match[1]), verifyPerSecond: Number(match[2]) };
  } catch {
    return undefined;
  }
}

/**
 * The signature work a server does in one full mutual handshake: it signs its
 * CertificateVerify once, and checks two signatures, the client's
 * CertificateVerify and the CA's signature on the client certificate.
 */
export function handshakeFloorUs(speed: SignatureSpeed): number {
  return 1e6 / speed.signPerSecond + 2e6 / speed.verifyPerSecond;
}
