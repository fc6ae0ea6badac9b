// The server and its CRL: revoked clients refused in the handshake (CERT_REVOKED),
// their open connections closed and their sessions not resumed when a new CRL
// arrives; a CRL that cannot be trusted (stale, another CA's, not PEM, missing a
// CA, older, gone) refused at reload with the old one kept; a stale CRL failing
// closed, announced before it happens. Real TLS on loopback, real files.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, beforeEach, describe, it } from 'node:test';
import { writeFileAtomic } from '../core/files.ts';
import { issueCrl, type RevokedCertificate } from '../core/crl.ts';
import { caOf, identity, issue, rogueCa } from './helpers/material.ts';
import { reloadWith, startTestServer, type TestServer } from './helpers/server.ts';

const MINUTE = 60_000;

interface Answer {
  status: number;
  body: string;
  resumed: boolean;
  socket: TLSSocket;
}

async function clientOptions(dir: string): Promise<https.RequestOptions> {
  const read = (file: string) => readFile(join(dir, file));
  return { cert: await read('tls.crt'), key: await read('tls.key'), ca: await read('ca.crt'), servername: 'localhost' };
}

function getOn(url: string, options: https.RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (response) => {
        const socket = response.socket as TLSSocket;
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, resumed: socket.isSessionReused(), socket }));
      })
      .on('error', reject);
  });
}

function closed(socket: TLSSocket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection is still open after 5 s')), 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A CA of the project's PKI, two clients of it, and a way to write its CRLs. */
interface Fixture {
  out: string;
  serverDir: string;
  issuer: { certificate: X509Certificate; key: import('node:crypto').KeyObject };
  client: https.RequestOptions;
  client2: https.RequestOptions;
  clientSerial: string;
  crl(options?: { revoked?: RevokedCertificate[]; number?: bigint; thisUpdate?: Date; nextUpdate?: Date }): string;
}

async function fixture(): Promise<Fixture> {
  const out = await issue('method1');
  const ca = await caOf(out);
  const issuer = { certificate: new X509Certificate(ca.certificatePem), key: ca.key };
  const client2Dir = await identity({ issuer: ca, names: 'client2', commonName: 'client2' });
  const clientPem = await readFile(join(out, 'client', 'tls.crt'), 'utf8');
  let number = 0n;
  return {
    out,
    serverDir: join(out, 'server'),
    issuer,
    client: await clientOptions(join(out, 'client')),
    client2: await clientOptions(client2Dir),
    clientSerial: new X509Certificate(clientPem).serialNumber,
    crl: (options = {}) =>
      issueCrl({
        issuer,
        number: options.number ?? (number += 1n),
        thisUpdate: options.thisUpdate ?? new Date(Date.now() - MINUTE),
        nextUpdate: options.nextUpdate ?? new Date(Date.now() + 10 * MINUTE),
        revoked: options.revoked ?? [],
      }),
  };
}

const revokedNow = (serialNumber: string): RevokedCertificate => ({ serialNumber, revokedAt: new Date(Date.now() - 1000), reason: 'keyCompromise' });

describe('a server with a CRL', () => {
  let f: Fixture;
  let server: TestServer;
  before(async () => {
    f = await fixture();
    await writeFile(join(f.serverDir, 'crl.pem'), f.crl({ revoked: [revokedNow(f.clientSerial)] }));
    server = await startTestServer(f.serverDir);
  });
  after(() => server.close());

  it('refuses the revoked client in the handshake and logs handshake_failed with code CERT_REVOKED; the other client gets in', async () => {
    const seen = server.log.events.length;
    await assert.rejects(getOn(server.url(), { ...f.client, agent: false }), { code: 'ECONNRESET' });
    const logged = await server.log.waitFor((event) => event.event === 'handshake_failed', seen);
    assert.equal(logged['code'], 'CERT_REVOKED');
    assert.equal(logged['reason'], 'certificate revoked');
    assert.equal((await getOn(server.url(), { ...f.client2, agent: false })).status, 200);
  });
});

describe('a revocation arriving while clients are connected', () => {
  let f: Fixture;
  let server: TestServer;
  beforeEach(async () => {
    f = await fixture();
    await writeFile(join(f.serverDir, 'crl.pem'), f.crl());
    server = await startTestServer(f.serverDir);
  });

  it('closes the revoked client\'s kept-alive connection, leaves the other client\'s open and served', async () => {
    const revokedAgent = new https.Agent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0 });
    const goodAgent = new https.Agent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0 });
    try {
      const revoked = await getOn(server.url(), { ...f.client, agent: revokedAgent });
      const good = await getOn(server.url(), { ...f.client2, agent: goodAgent });
      assert.equal(revoked.status, 200);
      assert.equal(good.status, 200);
      const reload = await reloadWith(server, { 'crl.pem': f.crl({ revoked: [revokedNow(f.clientSerial)] }) });
      assert.equal(reload.loaded, true);
      await closed(revoked.socket);
      const logged = await reload.logged((event) => event.event === 'connections_closed');
      assert.equal(logged['reason'], 'certificate revoked');
      assert.equal(logged['idle'], 1);
      const loaded = await reload.logged((event) => event.event === 'crl_loaded');
      assert.equal((loaded['newlyRevoked'] as string[]).length, 1);
      const again = await getOn(server.url(), { ...f.client2, agent: goodAgent });
      assert.equal(again.socket, good.socket, 'the other client keeps its connection');
      assert.equal(again.status, 200);
      await assert.rejects(getOn(server.url(), { ...f.client, agent: revokedAgent }), { code: 'ECONNRESET' });
    } finally {
      revokedAgent.destroy();
      goodAgent.destroy();
      await server.close();
    }
  });

  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    it(`does not resume a ${version} session of the revoked client: a new CRL brings new ticket keys, the full handshake refuses it`, async () => {
      const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 10, maxVersion: version });
      try {
        assert.equal((await getOn(server.url(), { ...f.client, agent })).resumed, false);
        assert.equal((await getOn(server.url(), { ...f.client, agent })).resumed, true, 'resumption works before the revocation');
        const seen = server.log.events.length;
        const reload = await reloadWith(server, { 'crl.pem': f.crl({ revoked: [revokedNow(f.clientSerial)] }) });
        assert.equal(reload.loaded, true);
        await assert.rejects(getOn(server.url(), { ...f.client, agent }), { code: 'ECONNRESET' });
        const logged = await reload.logged((event) => event.event === 'handshake_failed');
        assert.equal(logged['code'], 'CERT_REVOKED');
        assert.equal(server.log.events.slice(seen).filter((event) => event.event === 'request').length, 0, 'no request got through');
      } finally {
        agent.destroy();
        await server.close();
      }
    });
  }
});

describe('a crl.pem the server must not load', () => {
  let f: Fixture;
  let server: TestServer;
  let good: string;
  before(async () => {
    f = await fixture();
    good = f.crl({ revoked: [revokedNow(f.clientSerial)], number: 10n });
    await writeFile(join(f.serverDir, 'crl.pem'), good);
    server = await startTestServer(f.serverDir);
  });
  after(() => server.close());

  const cases: [string, () => Promise<string>, RegExp][] = [
    ['a stale CRL (past its nextUpdate)', async () => f.crl({ number: 11n, thisUpdate: new Date(Date.now() - 20 * MINUTE), nextUpdate: new Date(Date.now() - MINUTE) }), /is stale: its nextUpdate .* has passed/],
    [
      'a CRL from another CA (same name, another key)',
      async () => {
        const other = await rogueCa('selfCA');
        return issueCrl({ issuer: { certificate: new X509Certificate(other.certificatePem), key: other.key }, number: 11n, thisUpdate: new Date(Date.now() - MINUTE), nextUpdate: new Date(Date.now() + MINUTE), revoked: [] });
      },
      /signed by none of the CAs in ca\.crt \(a CRL from another CA\)/,
    ],
    ['a CRL that is not PEM (DER bytes)', async () => Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64').toString('latin1'), /not PEM \(no "-----BEGIN" line\)/],
    ['a CRL under the label OpenSSL refuses (BEGIN CRL)', async () => good.replaceAll('X509 CRL', 'CRL'), /not a PEM CRL/],
    ['an older CRL (a lower number: a replay that would unrevoke)', async () => f.crl({ number: 9n }), /older than the one in force \(number 9 < 10\)/],
    ['a CRL from the future', async () => f.crl({ number: 11n, thisUpdate: new Date(Date.now() + 10 * MINUTE), nextUpdate: new Date(Date.now() + 20 * MINUTE) }), /is not valid before/],
  ];
  for (const [what, make, problem] of cases) {
    it(`refuses ${what} at reload, keeps the CRL in force, logs why`, async () => {
      const reload = await reloadWith(server, { 'crl.pem': await make() });
      assert.equal(reload.loaded, false);
      const logged = await reload.logged((event) => event.event === 'tls_reload_refused');
      assert.equal(logged['file'], join(f.serverDir, 'crl.pem'));
      assert.match(String(logged['problem']), problem);
      assert.ok(logged['keepingCrl'] !== undefined);
      await assert.rejects(getOn(server.url(), { ...f.client, agent: false }), { code: 'ECONNRESET' }, 'the revoked client is still refused');
      assert.equal((await getOn(server.url(), { ...f.client2, agent: false })).status, 200, 'the other client is still served');
    });
  }

  it('refuses a ca.crt with a second CA that has no CRL (with CRL_CHECK_ALL every client of that CA would fail UNABLE_TO_GET_CRL)', async () => {
    const caPem = await readFile(join(f.out, 'ca', 'ca.crt'), 'utf8');
    const reload = await reloadWith(server, { 'crl.pem': good, 'ca.crt': caPem + (await rogueCa('otherCA')).certificatePem });
    assert.equal(reload.loaded, false);
    const logged = await reload.logged((event) => event.event === 'tls_reload_refused');
    assert.match(String(logged['problem']), /no CRL for the CA "CN=otherCA" in ca\.crt.*UNABLE_TO_GET_CRL/);
    await writeFileAtomic(join(f.serverDir, 'ca.crt'), caPem, 0o644);
  });

  it('refuses to drop the CRL when crl.pem disappears (a missing file does not turn revocation off)', async () => {
    const reload = await reloadWith(server, { 'crl.pem': null });
    assert.equal(reload.loaded, false);
    const logged = await reload.logged((event) => event.event === 'tls_reload_refused');
    assert.match(String(logged['problem']), /is gone/);
    await assert.rejects(getOn(server.url(), { ...f.client, agent: false }), { code: 'ECONNRESET' });
  });

  it('refuses to start with a stale CRL', async () => {
    const g = await fixture();
    await writeFile(join(g.serverDir, 'crl.pem'), g.crl({ thisUpdate: new Date(Date.now() - 20 * MINUTE), nextUpdate: new Date(Date.now() - MINUTE) }));
    await assert.rejects(startTestServer(g.serverDir), { code: 'ETLSMATERIAL', message: /is stale/ });
  });
});

describe('a CRL going stale', () => {
  it('warns while it is in the last half of its life, then errors at nextUpdate and fails closed: every client refused (CRL_HAS_EXPIRED), open connections closed', async () => {
    const f = await fixture();
    // Five seconds of life, half of it already gone: the warning is due now, the expiry in 2.5 s.
    await writeFile(join(f.serverDir, 'crl.pem'), f.crl({ thisUpdate: new Date(Date.now() - 2500), nextUpdate: new Date(Date.now() + 2500) }));
    const server = await startTestServer(f.serverDir);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0 });
    try {
      const open = await getOn(server.url(), { ...f.client2, agent });
      assert.equal(open.status, 200);
      const warning = await server.log.waitFor((event) => event.event === 'crl_expiring');
      assert.equal(warning.level, 'warn');
      const expired = await server.log.waitFor((event) => event.event === 'crl_expired');
      assert.equal(expired.level, 'error');
      await closed(open.socket);
      const closing = await server.log.waitFor((event) => event.event === 'connections_closed');
      assert.equal(closing['reason'], 'CRL expired');
      const seen = server.log.events.length;
      await assert.rejects(getOn(server.url(), { ...f.client2, agent: false }), { code: 'ECONNRESET' });
      const refused = await server.log.waitFor((event) => event.event === 'handshake_failed', seen);
      assert.equal(refused['code'], 'CRL_HAS_EXPIRED');
    } finally {
      agent.destroy();
      await server.close();
    }
  });
});
