// The client's loop mode, as a real process against our real server on loopback,
// with both sides' material rotated underneath them by the agent's ..data swap.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { commit, stageKey } from '../services/agent/volume.ts';
import type { Issuer } from '../pki/certificates.ts';
import { startEventProcess, type Event, type EventProcess } from './helpers/events.ts';
import { caOf, expiredSince, identity, issue, rogueCa, type IdentitySpec } from './helpers/material.ts';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const CLIENT = join(ROOT, 'services/client/main.ts');

/** A fresh identity installed into `volume` the way the agent does it; returns its serial. */
async function rotate(volume: string, spec: IdentitySpec): Promise<string> {
  const dir = await identity(spec);
  const read = (file: string) => readFile(join(dir, file), 'utf8');
  const certificatePem = await read('tls.crt');
  const serial = new X509Certificate(certificatePem).serialNumber;
  await commit(volume, await stageKey(volume, await read('tls.key')), { certificatePem, caPem: await read('ca.crt'), serial });
  return serial;
}

const serverSpec = (issuer: Issuer): IdentitySpec => ({ issuer, commonName: 'server', names: 'server,localhost,127.0.0.1', profile: 'server' });
const clientSpec = (issuer: Issuer): IdentitySpec => ({ issuer, commonName: 'client', names: 'client', profile: 'client' });

function startLoop(tlsDir: string, url: string, env: NodeJS.ProcessEnv = {}): EventProcess {
  return startEventProcess(CLIENT, {
    TLS_DIR: tlsDir,
    SERVER_URL: url,
    CLIENT_MODE: 'loop',
    REQUEST_RATE: '40',
    SUMMARY_EVERY_MS: '500',
    TLS_POLL_MS: '500',
    WAIT_FOR_SERVER_MS: '0',
    ...env,
  });
}

type Summary = Event & { ok: number; failed: number; servedUnder: { client: Record<string, number>; server: Record<string, number> } };
const isTraffic = (event: Event): event is Summary => event.event === 'traffic';
const servedUnder = (side: 'client' | 'server', serial: string, atLeast: number) => (event: Event) =>
  isTraffic(event) && (event.servedUnder[side][serial] ?? 0) >= atLeast;
const servedUnderClient = (serial: string, atLeast: number) => servedUnder('client', serial, atLeast);

/** Polls `condition` up to `timeoutMs`: for states that settle, without asserting how fast. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the client in loop mode', () => {
  let issuer: Issuer;
  let serverVolume: string;
  let server: TestServer;
  const connections: { serial: string | undefined; socket: TLSSocket }[] = [];

  before(async () => {
    issuer = await caOf(await issue('method1'));
    serverVolume = await temporaryDirectory('loop-server-');
    await rotate(serverVolume, serverSpec(issuer));
    server = await startTestServer(serverVolume);
    server.server.on('secureConnection', (socket: TLSSocket) => connections.push({ serial: socket.getPeerX509Certificate()?.serialNumber, socket }));
  });
  after(() => server.close());

  it('keeps sending over new and kept-alive connections while both sides rotate 3 times: not one request fails', async () => {
    const clientVolume = await temporaryDirectory('loop-client-');
    const serials = [await rotate(clientVolume, clientSpec(issuer))];
    const serverSerials = [new X509Certificate(await readFile(join(serverVolume, 'tls.crt'))).serialNumber];
    const loop = startLoop(clientVolume, server.url());
    try {
      await loop.waitFor(servedUnderClient(serials[0] as string, 20));
      for (let i = 0; i < 3; i++) {
        const serial = await rotate(clientVolume, clientSpec(issuer));
        serials.push(serial);
        await loop.waitFor((event) => event.event === 'tls_reloaded' && event['serial'] === serial);
        const serverSerial = await rotate(serverVolume, serverSpec(issuer));
        serverSerials.push(serverSerial);
        await server.log.waitFor((event) => event.event === 'tls_reloaded' && (event['certificate'] as { serialNumber: string }).serialNumber === serverSerial);
        await loop.waitFor(servedUnderClient(serial, 20));
        await loop.waitFor(servedUnder('server', serverSerial, 20));
      }
      // Connections (and the sessions they came from) made with an old certificate are closed, not kept for later.
      const current = serials.at(-1);
      await eventually(() => connections.every((c) => c.serial === current || c.socket.destroyed), 'every connection with an old client certificate closed');
    } finally {
      assert.equal(await loop.stop(), 0, loop.stderr());
    }
    const final = loop.events.findLast(isTraffic) as Summary;
    assert.equal(final['final'], true);
    assert.equal(final.failed, 0, JSON.stringify(loop.events.filter((e) => e.event === 'request_failed').slice(0, 5)));
    assert.deepEqual(loop.events.filter((e) => e.event === 'request_failed'), []);
    assert.equal(final['reloads'], 3);
    assert.ok((final['newConnections'] as { ok: number }).ok > 0 && (final['keptAlive'] as { ok: number }).ok > 0, JSON.stringify(final));
    assert.ok((final['resumedSessions'] as number) > 0, 'new connections never resumed a session');
    for (const serial of serials) assert.ok((final.servedUnder.client[serial] ?? 0) > 0, `no request under client serial ${serial}`);
    for (const serial of serverSerials) assert.ok((final.servedUnder.server[serial] ?? 0) > 0, `no request answered under server serial ${serial}`);
    assert.equal(final.ok, Object.values(final.servedUnder.client).reduce((a, b) => a + b, 0));
  });

  it('refuses an expired certificate swapped in, keeps the current one (no failure), and takes the next valid one', async () => {
    const clientVolume = await temporaryDirectory('loop-client-');
    const first = await rotate(clientVolume, clientSpec(issuer));
    const loop = startLoop(clientVolume, server.url());
    try {
      await loop.waitFor(servedUnderClient(first, 5));
      await rotate(clientVolume, { ...clientSpec(issuer), validity: expiredSince(1) });
      const refused = await loop.waitFor((event) => event.event === 'tls_reload_refused');
      assert.match(String(refused['problem']), /^expired on \d{4}-/);
      assert.equal(refused['keeping'], first);
      const next = await rotate(clientVolume, clientSpec(issuer));
      await loop.waitFor(servedUnderClient(next, 5));
    } finally {
      assert.equal(await loop.stop(), 0, loop.stderr());
    }
    const final = loop.events.findLast(isTraffic) as Summary;
    assert.equal(final.failed, 0);
    assert.equal(final['reloads'], 1);
  });

  it('closes a kept-alive connection once the server certificate it was made with is past its renewal point', async () => {
    const now = Date.now();
    const ageing = await temporaryDirectory('loop-server-');
    // Two thirds of this certificate's lifetime are behind it: it is due for renewal.
    await rotate(ageing, { ...serverSpec(issuer), validity: { notBefore: new Date(now - 600_000), notAfter: new Date(now + 120_000) } });
    const ageingServer = await startTestServer(ageing);
    let handshakes = 0;
    ageingServer.server.on('secureConnection', () => handshakes++);
    const clientVolume = await temporaryDirectory('loop-client-');
    await rotate(clientVolume, clientSpec(issuer));
    const loop = startLoop(clientVolume, ageingServer.url(), { REQUEST_RATE: '20' });
    try {
      await loop.waitFor((event) => isTraffic(event) && (event['keptAlive'] as { ok: number }).ok >= 10);
    } finally {
      assert.equal(await loop.stop(), 0, loop.stderr());
      await ageingServer.close();
    }
    const final = loop.events.findLast(isTraffic) as Summary;
    assert.equal(final.failed, 0);
    // Every request, kept-alive ones included, came on a connection of its own.
    assert.equal(handshakes, final.ok);
  });

  it('once its certificate expired with no successor: no session made with it is resumed; every request is a full handshake, refused', async () => {
    const clientVolume = await temporaryDirectory('loop-client-');
    const now = Date.now();
    await rotate(clientVolume, { ...clientSpec(issuer), validity: { notBefore: new Date(now - 1000), notAfter: new Date(now + 6000) } });
    const accepted: { resumed: boolean; at: number }[] = [];
    const onConnection = (socket: TLSSocket) => accepted.push({ resumed: socket.isSessionReused(), at: Date.now() });
    server.server.on('secureConnection', onConnection);
    const loop = startLoop(clientVolume, server.url(), { REQUEST_RATE: '20' });
    let code: number | null;
    let expiredAt = 0;
    try {
      await loop.waitFor((event) => isTraffic(event) && (event['resumedSessions'] as number) > 0);
      // Without the client's own check, the expiry shows only as a time: the certificate's.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, now + 6000 - Date.now())));
      expiredAt = Date.now();
      await loop.waitFor((event) => loop.events.filter((e) => e.event === 'request_failed').length >= 10 && event.event === 'request_failed');
    } finally {
      code = await loop.stop();
      server.server.off('secureConnection', onConnection);
    }
    assert.equal(code, 1);
    assert.deepEqual(accepted.filter((c) => c.resumed && c.at > expiredAt), []);
    const failures = loop.events.filter((e) => e.event === 'request_failed' && Date.parse(String(e['time'])) > expiredAt);
    assert.ok(failures.every((e) => e['code'] === 'CERTIFICATE_REJECTED'), JSON.stringify(failures[0]));
  });

  it('prints one JSON line per failed request, and exits 1 on SIGTERM when any failed', async () => {
    const clientVolume = await temporaryDirectory('loop-client-');
    await rotate(clientVolume, clientSpec(await rogueCa()));
    const loop = startLoop(clientVolume, server.url(), { REQUEST_RATE: '20' });
    let code: number | null;
    try {
      await loop.waitFor((event) => event.event === 'request_failed' && event['connection'] === 'new');
      await loop.waitFor((event) => event.event === 'request_failed' && event['connection'] === 'kept-alive');
    } finally {
      code = await loop.stop();
    }
    assert.equal(code, 1);
    const failures = loop.events.filter((e) => e.event === 'request_failed');
    // Our client trusts only the rogue CA (same name as the real one, another key), which did not sign the server's certificate.
    const untrusted = (e: Event) => e['code'] === 'SERVER_UNTRUSTED' && /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/.test(String(e['error']));
    assert.ok(failures.every(untrusted), JSON.stringify(failures.find((e) => !untrusted(e))));
    const final = loop.events.findLast(isTraffic) as Summary;
    assert.equal(final.failed, failures.length);
    assert.equal(final.ok, 0);
  });

  for (const [env, message] of [
    [{ CLIENT_MODE: 'forever' }, 'client: CLIENT_MODE must be "once" or "loop", not "forever"'],
    [{ CLIENT_MODE: 'loop', REQUEST_RATE: '0' }, 'client: REQUEST_RATE must be a whole number from 1 to 1000, not "0"'],
    [{ CLIENT_MODE: 'loop', SUMMARY_EVERY_MS: '60000' }, 'client: SUMMARY_EVERY_MS must be a whole number from 100 to 5000, not "60000"'],
  ] as const) {
    it(`refuses ${JSON.stringify(env)} with one line and exit 2`, async () => {
      const result = await run(process.execPath, [CLIENT], { env: { ...process.env, TLS_DIR: serverVolume, ...env } });
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `${message}\n`);
      assert.equal(result.stdout, '');
    });
  }
});
