import { isIP } from 'node:net';
import { ConfigError, integerSetting, requiredSetting } from '../../core/config-error.ts';
import { parseWorkloadName, type SubjectName } from '../../core/names.ts';

/** The server's settings, read and checked once at start-up. */
export interface ServerConfig {
  tlsDir: string;
  port: number;
  host: string;
  /** SANs a client certificate must carry one of (DNS names, or URIs); undefined lets any trusted client with a DNS/URI SAN in. */
  allowedClients: SubjectName[] | undefined;
  /** Loopback-only TLS port for the container health check (no client certificate; the image sets one); undefined (the default) disables it, 0 takes any free port. */
  healthPort: number | undefined;
  /** After this long, a kept-alive connection is closed after its next response (the client handshakes again). */
  maxConnectionAgeMs: number;
  /** How long in-flight requests get to finish on SIGTERM/SIGINT. */
  shutdownGraceMs: number;
}

export function readServerConfig(env: NodeJS.ProcessEnv): ServerConfig {
  return {
    tlsDir: requiredSetting(env, 'TLS_DIR', 'out/method1/server'),
    port: integerSetting(env, 'PORT', 9443, 0, 65535),
    host: readHost(env['HOST']),
    allowedClients: readAllowedClients(env['ALLOWED_CLIENTS']),
    // Off unless asked for: a second server on this machine must not collide on a default port.
    healthPort: env['HEALTH_PORT'] === undefined || env['HEALTH_PORT'] === '' ? undefined : integerSetting(env, 'HEALTH_PORT', 0, 0, 65535),
    maxConnectionAgeMs: integerSetting(env, 'MAX_CONNECTION_AGE_MS', 15 * 60_000, 1000, 86_400_000),
    shutdownGraceMs: integerSetting(env, 'SHUTDOWN_GRACE_MS', 3000, 0, 60_000),
  };
}

function readHost(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '0.0.0.0';
  if (isIP(raw) === 0 && !/^[a-z0-9.-]+$/i.test(raw)) throw new ConfigError(`HOST must be an IP address or host name, not "${raw}"`);
  return raw;
}

export function readAllowedClients(raw: string | undefined): SubjectName[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const names = raw.split(',').map((name) => name.trim());
  if (names.some((name) => name === '' || /\s/.test(name))) {
    throw new ConfigError(`ALLOWED_CLIENTS must be a comma-separated list of names, not "${raw}"`);
  }
  try {
    return names.map(parseWorkloadName);
  } catch (error) {
    throw new ConfigError(`ALLOWED_CLIENTS: ${(error as Error).message}`, { cause: error });
  }
}
