import { isIP } from 'node:net';
import { ConfigError, integerSetting } from '../../core/config-error.ts';
import { parseSubjectNames } from '../../core/names.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { isRole, ROLES, type CaRole } from './roles.ts';
import { SERVING_NAMES } from './serving.ts';

/** The CA's settings, read and checked once at start-up. */
export interface CaConfig {
  /** Holds ca.key, ca.crt, the CA's serving certificate and ca.db. */
  caDir: string;
  port: number;
  host: string;
  /** How long issued certificates live, already capped at certTtlMaxMs. */
  certTtlMs: number;
  certTtlMaxMs: number;
  /** The CERT_TTL asked for, when it was larger than the cap. */
  certTtlCappedFrom: number | undefined;
  tokenTtlMs: number;
  /** How long each CRL is valid (its nextUpdate); the CA signs a new one every quarter of it, and at every revocation. */
  crlNextUpdateMs: number;
}

/** One `--enroll IDENTITY:ROLE:DIR`: a token for this identity and role, written into DIR. */
export interface EnrollmentRequest {
  identity: string;
  role: CaRole;
  dir: string;
}

export function readCaConfig(env: NodeJS.ProcessEnv): CaConfig {
  const certTtlMaxMs = durationSetting(env, 'CERT_TTL_MAX', '24h');
  const requested = durationSetting(env, 'CERT_TTL', '2m');
  return {
    caDir: env['CA_DIR']?.trim() || '/ca',
    port: integerSetting(env, 'CA_PORT', 9000, 0, 65535),
    host: readHost(env['CA_HOST']),
    certTtlMs: Math.min(requested, certTtlMaxMs),
    certTtlMaxMs,
    certTtlCappedFrom: requested > certTtlMaxMs ? requested : undefined,
    tokenTtlMs: durationSetting(env, 'TOKEN_TTL', '10m'),
    crlNextUpdateMs: durationSetting(env, 'CRL_NEXT_UPDATE', '2m'),
  };
}

function durationSetting(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const raw = env[name]?.trim() || fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms === 0) {
    throw new ConfigError(`${name} must be a positive duration such as 15s, 2m, 1h or 7d, not "${raw}"`);
  }
  return ms;
}

function readHost(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '0.0.0.0';
  if (isIP(raw) === 0 && !/^[a-z0-9.-]+$/i.test(raw)) throw new ConfigError(`CA_HOST must be an IP address or host name, not "${raw}"`);
  return raw;
}

// No workload may get a certificate for a name of the CA's own serving certificate (a serverAuth DNS:localhost, say).
const RESERVED_IDENTITIES: readonly string[] = SERVING_NAMES.filter((name) => name.type === 'dns').map((name) => name.value);

/** Parses the `--enroll` arguments of `init`; anything else on the command line is an error. */
export function readEnrollmentRequests(args: readonly string[]): EnrollmentRequest[] {
  const requests: EnrollmentRequest[] = [];
  for (let index = 0; index < args.length; index += 2) {
    const flag = args[index];
    const value = args[index + 1];
    if (flag !== '--enroll') throw new ConfigError(`init: unknown argument "${flag}" (expected --enroll IDENTITY:ROLE:DIR)`);
    if (value === undefined) throw new ConfigError('init: --enroll needs a value IDENTITY:ROLE:DIR');
    requests.push(parseEnrollment(value));
  }
  const identities = requests.map((request) => request.identity);
  const twice = identities.find((identity, index) => identities.indexOf(identity) !== index);
  if (twice !== undefined) throw new ConfigError(`init: identity "${twice}" is enrolled twice`);
  return requests;
}

function parseEnrollment(value: string): EnrollmentRequest {
  const [identity = '', role = '', ...rest] = value.split(':');
  const dir = rest.join(':');
  if (dir === '') throw new ConfigError(`--enroll "${value}" must look like IDENTITY:ROLE:DIR, e.g. server:server:/bootstrap/server`);
  if (!isRole(role)) throw new ConfigError(`--enroll "${value}": the role must be one of ${ROLES.join(', ')}, not "${role}"`);
  return { identity: checkIdentity(identity, value), role, dir };
}

/** An identity becomes the certificate's CN and its one DNS name, so it must be a DNS name. */
function checkIdentity(identity: string, value: string): string {
  let names;
  try {
    names = parseSubjectNames(identity);
  } catch (error) {
    throw new ConfigError(`--enroll "${value}": ${(error as Error).message}`);
  }
  const [name] = names;
  if (names.length !== 1 || name?.type !== 'dns') throw new ConfigError(`--enroll "${value}": the identity must be one DNS name`);
  if (RESERVED_IDENTITIES.includes(name.value)) throw new ConfigError(`--enroll "${value}": "${name.value}" is the CA's own name`);
  return name.value;
}

/** For the start-up log line. */
export function describeConfig(config: CaConfig): Record<string, unknown> {
  return {
    caDir: config.caDir,
    certTtl: formatDuration(config.certTtlMs),
    certTtlMax: formatDuration(config.certTtlMaxMs),
    tokenTtl: formatDuration(config.tokenTtlMs),
    crlNextUpdate: formatDuration(config.crlNextUpdateMs),
    crlRefresh: formatDuration(crlRefreshMs(config)),
  };
}

// A relying party fetching every refresh interval holds a CRL at most a
// quarter old: three refreshes may fail before it goes stale.
const CRL_REFRESHES_PER_LIFETIME = 4;

/** How often the CA signs a CRL when nothing was revoked. */
export function crlRefreshMs(config: CaConfig): number {
  return Math.max(1000, Math.floor(config.crlNextUpdateMs / CRL_REFRESHES_PER_LIFETIME));
}
