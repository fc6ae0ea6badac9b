import { ConfigError, integerSetting, requiredSetting } from '../../core/config-error.ts';
import { readLoopConfig, type LoopConfig } from './loop-config.ts';

/** The client's settings, read and checked once at start-up. */
export interface ClientConfig {
  tlsDir: string;
  url: URL;
  /** Per attempt: connect, handshake, response. */
  timeoutMs: number;
  /** How long to keep retrying a server that is not there yet (refused, not resolvable). */
  waitForServerMs: number;
  /** text: lines for a person; json: one JSON document for a script. */
  output: OutputFormat;
  /** Continuous traffic (CLIENT_MODE=loop) instead of one exchange. */
  loop: LoopConfig | undefined;
}

export type OutputFormat = 'text' | 'json';
const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'json'];

export function readClientConfig(env: NodeJS.ProcessEnv): ClientConfig {
  return {
    tlsDir: requiredSetting(env, 'TLS_DIR', 'out/method1/client'),
    url: readUrl(env['SERVER_URL']),
    timeoutMs: integerSetting(env, 'TIMEOUT_MS', 5000, 100, 120_000),
    waitForServerMs: integerSetting(env, 'WAIT_FOR_SERVER_MS', 10_000, 0, 300_000),
    output: readOutput(env['OUTPUT']),
    loop: readLoopConfig(env),
  };
}

function readUrl(raw: string | undefined): URL {
  const value = raw === undefined || raw === '' ? 'https://server:9443/' : raw;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`SERVER_URL must be an absolute URL such as https://server:9443/, not "${value}"`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`SERVER_URL must use https:, not "${url.protocol}" (mTLS needs TLS)`);
  return url;
}

function readOutput(raw: string | undefined): OutputFormat {
  if (raw === undefined || raw === '') return 'text';
  const format = OUTPUT_FORMATS.find((known) => known === raw);
  if (format === undefined) throw new ConfigError(`OUTPUT must be ${OUTPUT_FORMATS.join(' or ')}, not "${raw}"`);
  return format;
}
