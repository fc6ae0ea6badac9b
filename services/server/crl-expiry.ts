import type { Log } from '../../core/log.ts';
import { loggedCrl, type LoadedCrl } from './revocation.ts';

export interface CrlExpiry {
  /** Follows the CRL now in force (undefined: none), forgetting the previous one. */
  track(crl: LoadedCrl | undefined): void;
  stop(): void;
}

// setTimeout holds at most 2^31-1 ms (about 24.8 days): further deadlines are approached in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
const EXPIRED_REMINDER_MS = 60_000;

/**
 * Says loudly that the CRL is going stale before it happens: a warning once
 * less than half of its lifetime is left (the CA re-signs every quarter of it,
 * so by then two refreshes have not arrived), an error once nextUpdate has
 * passed, repeated every minute, because from then on OpenSSL refuses every
 * client (CRL_HAS_EXPIRED). `expired` ends the connections still open, so that
 * they fail closed like new ones.
 */
export function watchCrlExpiry(log: Log, expired: () => void, now: () => number = Date.now): CrlExpiry {
  let timers: NodeJS.Timeout[] = [];
  const at = (time: number, run: () => void) => {
    const delay = time - now();
    const timer = delay > MAX_TIMER_MS ? setTimeout(() => at(time, run), MAX_TIMER_MS) : setTimeout(run, Math.max(0, delay));
    timers.push(timer.unref());
  };
  const stop = () => {
    for (const timer of timers) clearTimeout(timer);
    timers = [];
  };
  return {
    stop,
    track(crl) {
      stop();
      if (crl === undefined) return;
      const nextUpdate = crl.nextUpdate.getTime();
      at(nextUpdate - crl.lifetimeMs / 2, () =>
        log.warn('crl_expiring', {
          ...loggedCrl(crl),
          leftMs: Math.max(0, nextUpdate - now()),
          consequence: 'after nextUpdate every client is refused (CRL_HAS_EXPIRED): is the agent fetching the CRL, is the CA up?',
        }),
      );
      // OpenSSL calls a CRL expired once the time is past nextUpdate, not at it.
      at(nextUpdate + 1000, () => {
        const remind = () => log.error('crl_expired', { ...loggedCrl(crl), consequence: 'every client is refused (CRL_HAS_EXPIRED) until a current crl.pem arrives' });
        remind();
        expired();
        timers.push(setInterval(remind, EXPIRED_REMINDER_MS).unref());
      });
    },
  };
}
