import { ConfigError, integerSetting, requiredSetting } from '../../core/config-error.ts';
import type { Role } from '../../core/tls-material.ts';
import type { Backoff } from '../../core/renewal.ts';
import { KEY_TYPES, type KeySpec, type KeyType } from '../../core/x509.ts';

/** The agent's settings, read and checked once at start-up. */
export interface AgentConfig {
  /** The workload's volume: the agent writes tls.crt/tls.key/ca.crt here (the ..data layout). */
  tlsDir: string;
  /** The agent's own: the one-time enrollment token and the CA certificate to trust at first. */
  bootstrapDir: string;
  caUrl: URL;
  /** The name the workload is known by; the CA decides, the agent checks the answer carries it. */
  identity: string;
  role: Role;
  /** The kind of key generated for every certificate: ECDSA P-256 unless told. */
  keyType: KeyType;
  /** Per call to the CA: connect, handshake, answer. */
  timeoutMs: number;
  backoff: Backoff;
  /** How often to fetch the CA's CRL into TLS_DIR/crl.pem (a server's agent); 0: never. */
  crlRefreshMs: number;
}

const ROLES: readonly Role[] = ['server', 'client'];

export function readAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const minMs = integerSetting(env, 'RETRY_MIN_MS', 1000, 100, 60_000);
  return {
    tlsDir: requiredSetting(env, 'TLS_DIR', '/tls'),
    bootstrapDir: requiredSetting(env, 'BOOTSTRAP_DIR', '/bootstrap'),
    caUrl: readCaUrl(env['CA_URL']),
    identity: readIdentity(requiredSetting(env, 'IDENTITY', 'server')),
    role: oneOf(env, 'ROLE', ROLES, undefined),
    keyType: oneOf(env, 'KEY_TYPE', KEY_TYPES, 'ecdsa'),
    timeoutMs: integerSetting(env, 'CA_TIMEOUT_MS', 5000, 100, 120_000),
    backoff: { minMs, maxMs: integerSetting(env, 'RETRY_MAX_MS', 60_000, minMs, 3_600_000) },
    crlRefreshMs: integerSetting(env, 'CRL_REFRESH_MS', 0, 0, 3_600_000),
  };
}

function readCaUrl(raw: string | undefined): URL {
  const value = raw === undefined || raw === '' ? 'https://ca:9000/' : raw;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`CA_URL must be an absolute URL such as https://ca:9000/, not "${value}"`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`CA_URL must use https:, not "${url.protocol}" (tokens and keys' certificates travel over it)`);
  return url;
}

function readIdentity(raw: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(raw)) throw new ConfigError(`IDENTITY must be a host-name label such as "server", not "${raw}"`);
  return raw.toLowerCase();
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T | undefined): T {
  const raw = env[name];
  if ((raw === undefined || raw === '') && fallback !== undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, not "${raw ?? ''}"`);
  return raw as T;
}

/** ECDSA on P-256 and RSA with 2048 bits: the sizes TLS peers everywhere accept, and the cheapest to make. */
export function keySpecOf(type: KeyType): KeySpec {
  if (type === 'ecdsa') return { type, curve: 'P-256' };
  if (type === 'rsa') return { type, rsaBits: 2048 };
  return { type };
}
