// The CA's settings, parsed once at the entry point: durations, the cap, --enroll.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCaConfig, readEnrollmentRequests } from '../services/ca/config.ts';
import { formatDuration, parseDuration } from '../services/ca/duration.ts';
import { leafValidity } from '../services/ca/issuance.ts';
import { ConfigError } from '../core/config-error.ts';

describe('CA settings', () => {
  it('reads durations in s, m, h and d, and nothing else', () => {
    assert.deepEqual(['15s', '2m', '1h', '7d', ' 90s '].map(parseDuration), [15_000, 120_000, 3_600_000, 604_800_000, 90_000]);
    for (const bad of ['15', '1.5h', '-2m', '2 m', 'PT2M', '', '1w']) assert.equal(parseDuration(bad), undefined, bad);
    assert.deepEqual([120_000, 90_000, 86_400_000, 1500].map(formatDuration), ['2m', '90s', '1d', '1500ms']);
  });

  it('defaults: /ca, port 9000, certificates of 2m capped at 24h, tokens of 10m, CRLs valid 2m', () => {
    const config = readCaConfig({});
    assert.deepEqual(config, {
      caDir: '/ca',
      port: 9000,
      host: '0.0.0.0',
      certTtlMs: 120_000,
      certTtlMaxMs: 86_400_000,
      certTtlCappedFrom: undefined,
      tokenTtlMs: 600_000,
      crlNextUpdateMs: 120_000,
    });
  });

  it('caps CERT_TTL at CERT_TTL_MAX and remembers what was asked', () => {
    const config = readCaConfig({ CERT_TTL: '48h' });
    assert.equal(config.certTtlMs, 86_400_000);
    assert.equal(config.certTtlCappedFrom, 172_800_000);
  });

  it('never issues past the CA certificate: the validity ends at the earlier of now + TTL and the CA end', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    assert.deepEqual(leafValidity(now, 60_000, new Date('2030-01-01T00:00:00Z')), {
      notBefore: new Date('2025-12-31T23:59:55Z'),
      notAfter: new Date('2026-01-01T00:01:00Z'),
    });
    assert.equal(leafValidity(now, 3_600_000, new Date('2026-01-01T00:10:00Z')).notAfter.toISOString(), '2026-01-01T00:10:00.000Z');
  });

  it('refuses a bad duration with one line naming the variable', () => {
    assert.throws(() => readCaConfig({ CERT_TTL_MAX: '0h' }), new ConfigError('CERT_TTL_MAX must be a positive duration such as 15s, 2m, 1h or 7d, not "0h"'));
  });

  it('reads --enroll IDENTITY:ROLE:DIR, with colons allowed in DIR, and identities lower-cased', () => {
    assert.deepEqual(readEnrollmentRequests(['--enroll', 'Server:server:/b/s', '--enroll', 'ops:admin:C:/x']), [
      { identity: 'server', role: 'server', dir: '/b/s' },
      { identity: 'ops', role: 'admin', dir: 'C:/x' },
    ]);
  });

  it('refuses every name the CA\'s own serving certificate carries, in any case', () => {
    for (const name of ['ca', 'localhost', 'LocalHost']) {
      assert.throws(() => readEnrollmentRequests(['--enroll', `${name}:server:/x`]), new ConfigError(`--enroll "${name}:server:/x": "${name.toLowerCase()}" is the CA's own name`));
    }
    assert.throws(() => readEnrollmentRequests(['--enroll', '127.0.0.1:server:/x']), /the identity must be one DNS name/);
  });

  it('refuses an identity enrolled twice, or one that is an IP address', () => {
    assert.throws(() => readEnrollmentRequests(['--enroll', 'a:client:/x', '--enroll', 'a:server:/y']), /identity "a" is enrolled twice/);
    assert.throws(() => readEnrollmentRequests(['--enroll', '127.0.0.1:client:/x']), /the identity must be one DNS name/);
  });
});
