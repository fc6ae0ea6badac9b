import { ConfigError, integerSetting } from '../../core/config-error.ts';

/** Loop mode: continuous traffic instead of one request (CLIENT_MODE=loop). */
export interface LoopConfig {
  /** Requests started per second, alternating between a new connection and the kept-alive one. */
  ratePerSecond: number;
  /** How often the cumulative `traffic` summary is printed. */
  summaryEveryMs: number;
  /** How often TLS_DIR is re-read even without a change notice (a missed inotify event costs at most this). */
  pollEveryMs: number;
}

/** undefined unless CLIENT_MODE=loop; CLIENT_MODE=once (the default) is the single exchange. */
export function readLoopConfig(env: NodeJS.ProcessEnv): LoopConfig | undefined {
  const mode = env['CLIENT_MODE'] ?? '';
  if (mode === '' || mode === 'once') return undefined;
  if (mode !== 'loop') throw new ConfigError(`CLIENT_MODE must be "once" or "loop", not "${mode}"`);
  return {
    ratePerSecond: integerSetting(env, 'REQUEST_RATE', 10, 1, 1000),
    summaryEveryMs: integerSetting(env, 'SUMMARY_EVERY_MS', 5000, 100, 5000),
    pollEveryMs: integerSetting(env, 'TLS_POLL_MS', 1000, 100, 60_000),
  };
}
