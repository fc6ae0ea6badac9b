// When the agent renews and how long it waits after a failure: pure rules, checked at their edges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renewalTime, retryDelay, waitBeforeRenewal } from '../core/renewal.ts';

const SECOND = 1000;
const validity = { notBefore: new Date('2026-11-27T00:00:00Z'), notAfter: new Date('2026-11-27T00:01:00Z') };
const fractionOfLifetime = (at: Date) => (at.getTime() - validity.notBefore.getTime()) / (60 * SECOND);

describe('renewalTime: step-ca, when a third of the lifetime is left, minus up to a twentieth as jitter', () => {
  it('renews at exactly 2/3 of the lifetime with no jitter', () => {
    assert.equal(renewalTime(validity, () => 0).toISOString(), '2026-11-27T00:00:40.000Z');
  });

  it('renews no earlier than 2/3 - 1/20 of the lifetime with the largest jitter', () => {
    assert.equal(renewalTime(validity, () => 1).toISOString(), '2026-11-27T00:00:37.000Z');
  });

  it('spreads renewals over that window with a real random source', () => {
    const fractions = Array.from({ length: 200 }, () => fractionOfLifetime(renewalTime(validity)));
    assert.ok(fractions.every((f) => f >= 2 / 3 - 1 / 20 && f <= 2 / 3), `outside the window: ${fractions.find((f) => f < 0.6166 || f > 0.6667)}`);
    assert.ok(new Set(fractions).size > 100, 'the jitter does not vary');
  });
});

describe('retryDelay: bounded exponential backoff with jitter', () => {
  const backoff = { minMs: 1 * SECOND, maxMs: 60 * SECOND };
  const hour = 3600 * SECOND;

  it('doubles from the minimum: 1 s, 2 s, 4 s, 8 s (largest draw)', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, hour, backoff, () => 0.999999)), [1000, 2000, 4000, 8000]);
  });

  it('draws between half and all of the doubled delay', () => {
    assert.equal(retryDelay(4, hour, backoff, () => 0), 4000);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelay(4, hour, backoff);
      assert.ok(delay >= 4000 && delay <= 8000, String(delay));
    }
  });

  it('never waits more than maxMs, however many failures', () => {
    assert.equal(retryDelay(50, hour, backoff, () => 0.999999), 60_000);
    assert.equal(retryDelay(10_000, hour, backoff, () => 0.999999), 60_000);
  });

  it('waits at most a quarter of the time the certificate has left, so several attempts fit before it expires', () => {
    assert.equal(retryDelay(10, 8 * SECOND, backoff, () => 0.999999), 2000);
    assert.equal(retryDelay(10, 8 * SECOND, backoff, () => 0), 1000);
  });

  it('never waits less than minMs: with a second left, or none, it does not loop hot', () => {
    assert.equal(retryDelay(10, 1 * SECOND, backoff, () => 0), 1000);
    assert.equal(retryDelay(1, 1, backoff, () => 0), 1000);
    assert.equal(retryDelay(0, 0, backoff, () => 0), 1000);
  });

  it('once the certificate expired, backs off up to maxMs (renewal is no longer possible, enrollment needs a new token)', () => {
    assert.equal(retryDelay(20, 0, backoff, () => 0.999999), 60_000);
    assert.equal(retryDelay(20, -5 * SECOND, backoff, () => 0.999999), 60_000);
  });
});

describe('waitBeforeRenewal', () => {
  const now = new Date('2026-11-27T00:00:10Z');

  it('waits until the renewal time', () => {
    assert.equal(waitBeforeRenewal(new Date('2026-11-27T00:00:40Z'), now, 1000), 30_000);
  });

  it('waits at least minMs when the renewal time has passed (a certificate issued already due cannot cause a loop)', () => {
    assert.equal(waitBeforeRenewal(new Date('2026-11-27T00:00:00Z'), now, 1000), 1000);
  });
});
