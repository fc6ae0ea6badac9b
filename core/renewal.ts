/** When a certificate is valid. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** A number in [0, 1), like Math.random; injected so tests can pin the jitter. */
export type Random = () => number;

/**
 * When to renew: step-ca's rule, once a third of the lifetime remains, minus a
 * random jitter of up to a twentieth of it (so at 62-67% of the lifetime).
 * The jitter spreads renewals of workloads that started together, so they do
 * not reach the CA at the same instant every period.
 */
export function renewalTime(validity: Validity, random: Random = Math.random): Date {
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  return new Date(validity.notAfter.getTime() - lifetime / 3 - random() * (lifetime / 20));
}

/** Bounds of the wait between two failed attempts. */
export interface Backoff {
  minMs: number;
  maxMs: number;
}

/**
 * The wait after `failures` failed attempts in a row (1 for the first):
 * doubling from minMs up to maxMs, then drawn between half and all of it
 * (jitter, so agents do not retry in step). While the certificate still
 * works, the wait is also held to a quarter of the time it has left, so that
 * several attempts fit before it expires; it is never below minMs, so a
 * failing CA is never hammered.
 */
export function retryDelay(failures: number, timeLeftMs: number, backoff: Backoff, random: Random = Math.random): number {
  const doubled = backoff.minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  const cap = timeLeftMs > 0 ? Math.min(backoff.maxMs, timeLeftMs / 4) : backoff.maxMs;
  const ceiling = Math.max(backoff.minMs, Math.min(doubled, cap));
  return Math.max(backoff.minMs, Math.round(ceiling * (0.5 + random() / 2)));
}

/**
 * How long to wait before renewing: until the renewal time, but at least
 * minMs, so that a certificate issued already past its renewal time (a CA
 * capping lifetimes at its own end) cannot make the agent renew in a loop.
 */
export function waitBeforeRenewal(renewAt: Date, now: Date, minMs: number): number {
  return Math.max(minMs, renewAt.getTime() - now.getTime());
}
