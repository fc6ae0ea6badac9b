// The agent's CRL loop against our CA in process: it writes TLS_DIR/crl.pem
// with one rename, refuses what the server would refuse, and keeps the CRL in
// place (and tries again) while the CA is away.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fetchCrl, runCrlFetcher, type CrlFetchDeps } from '../services/agent/crl-fetch.ts';
import { issueCrl, parseCrl } from '../core/crl.ts';
import { generateKey, issueCertificate } from '../core/x509.ts';
import { X509Certificate } from 'node:crypto';
import { startTestCa } from './helpers/ca.ts';
import { temporaryDirectory } from './helpers/processes.ts';

/** Runs the loop for `rounds` fetches (the sleep ends it), collecting what it emitted. */
async function rounds(config: Parameters<typeof runCrlFetcher>[0], fetch: CrlFetchDeps['fetchCrl'], count: number): Promise<{ event: string; fields: Record<string, unknown> }[]> {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const stop = new AbortController();
  let done = 0;
  await runCrlFetcher(
    config,
    {
      emit: (event, fields = {}) => events.push({ event, fields }),
      now: () => new Date(),
      sleep: async () => {
        if ((done += 1) >= count) stop.abort();
      },
      fetchCrl: fetch,
    },
    stop.signal,
  );
  return events;
}

describe('the agent keeps crl.pem current', () => {
  it('fetches the CA\'s CRL into TLS_DIR, rewrites it only when it changed, keeps it while the CA is away', async () => {
    const ca = await startTestCa({ CRL_NEXT_UPDATE: '1m' });
    const tlsDir = await temporaryDirectory('mtls-agent-crl-');
    await writeFile(join(tlsDir, 'ca.crt'), ca.caPem);
    const config = { tlsDir, bootstrapDir: tlsDir, caUrl: new URL(`https://localhost:${ca.port}/`), identity: 'server', timeoutMs: 2000, intervalMs: 10 };
    const endpoint = { url: config.caUrl, timeoutMs: 2000 };
    try {
      const first = await rounds(config, (trust) => fetchCrl(endpoint, trust), 2);
      assert.deepEqual(first.map((entry) => entry.event), ['crl_updated'], 'written once, then unchanged');
      const held = await readFile(join(tlsDir, 'crl.pem'), 'utf8');
      assert.equal(parseCrl(held).number, ca.context.crl.current().number);
    } finally {
      await ca.close();
    }
    const held = await readFile(join(tlsDir, 'crl.pem'), 'utf8');
    const away = await rounds(config, (trust) => fetchCrl(endpoint, trust), 1);
    assert.equal(away[0]?.event, 'crl_fetch_failed');
    assert.equal(away[0]?.fields['code'], 'ECONNREFUSED');
    assert.ok((away[0]?.fields['held'] as { leftMs: number }).leftMs > 0);
    assert.equal(await readFile(join(tlsDir, 'crl.pem'), 'utf8'), held, 'the CRL in place stays');
  });

  it('refuses a CRL from another CA and an older one, keeping the one in place', async () => {
    const tlsDir = await temporaryDirectory('mtls-agent-crl-');
    const key = await generateKey({ type: 'ecdsa' });
    const now = Date.now();
    const caPem = issueCertificate({ profile: 'ca', commonName: 'ca', names: [], publicKey: key, subjectKey: key, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
    const issuer = { certificate: new X509Certificate(caPem), key };
    const crl = (number: bigint) => issueCrl({ issuer, number, thisUpdate: new Date(now - 1000), nextUpdate: new Date(now + 60_000), revoked: [] });
    await writeFile(join(tlsDir, 'ca.crt'), caPem);
    await writeFile(join(tlsDir, 'crl.pem'), crl(5n));
    const config = { tlsDir, bootstrapDir: tlsDir, caUrl: new URL('https://localhost:1/'), identity: 'server', timeoutMs: 1000, intervalMs: 10 };
    const otherKey = await generateKey({ type: 'ecdsa' });
    const otherPem = issueCertificate({ profile: 'ca', commonName: 'ca', names: [], publicKey: otherKey, subjectKey: otherKey, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
    const foreign = issueCrl({ issuer: { certificate: new X509Certificate(otherPem), key: otherKey }, number: 9n, thisUpdate: new Date(now - 1000), nextUpdate: new Date(now + 60_000), revoked: [] });
    for (const [served, message] of [[foreign, /signed by none of the CAs this agent trusts/], [crl(4n), /older CRL \(number 4 < 5 in place\)/]] as const) {
      const events = await rounds(config, async () => served, 1);
      assert.equal(events[0]?.event, 'crl_fetch_failed');
      assert.match(String(events[0]?.fields['message']), message);
      assert.equal(parseCrl(await readFile(join(tlsDir, 'crl.pem'), 'utf8')).number, 5n);
    }
  });
});
