// Attacks on the server by a client holding a valid (or once valid) certificate,
// each written before its fix and watched to succeed, then to fail.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { namesFromSubjectAltName } from '../core/names.ts';
import { trackConnections } from '../services/server/connections.ts';
import { craftedClient } from './helpers/crafted.ts';
import { run, temporaryDirectory } from './helpers/processes.ts';
import { caOf, identity, issue, rogueCa } from './helpers/material.ts';
import { disposableAgent, reloadWith, startTestServer, type LogEvent, type TestServer } from './helpers/server.ts';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Client TLS options from a tls.crt/tls.key/ca.crt folder. */
async function clientOptions(dir: string): Promise<https.RequestOptions> {
  const read = (file: string) => readFile(join(dir, file));
  return { cert: await read('tls.crt'), key: await read('tls.key'), ca: await read('ca.crt'), servername: 'localhost' };
}

/** One GET over its own connection (or `options.agent`'s). */
function get(url: string, options: https.RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent: false, ...options }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      })
      .on('error', reject);
  });
}

/** The request line the server logged after `seen` events. */
function requestLogged(server: TestServer, seen: number): Promise<LogEvent> {
  return server.log.waitFor((event) => event.event === 'request', seen);
}

describe('authorization matches ALLOWED_CLIENTS against SANs only, by type', () => {
  let out: string;
  let server: TestServer;
  let spiffe: TestServer;
  before(async () => {
    out = await issue('method1');
    server = await startTestServer(join(out, 'server'), ['client']);
    spiffe = await startTestServer(join(out, 'server'), ['spiffe://example.org/client']);
  });
  after(async () => {
    await server.close();
    await spiffe.close();
  });

  async function attempt(target: TestServer, subject: string, subjectAltName?: string) {
    const dir = await craftedClient({ caDir: join(out, 'ca'), subject, subjectAltName });
    const seen = target.log.events.length;
    const answer = await get(target.url(), await clientOptions(dir));
    return { answer, logged: await requestLogged(target, seen) };
  }

  const refusals: { name: string; subject: string; subjectAltName?: string }[] = [
    { name: 'CN=client whose only SAN is DNS:evil.example', subject: '/CN=client', subjectAltName: 'DNS:evil.example' },
    { name: 'CN=evil with URI:client (a name, but not a DNS name)', subject: '/CN=evil', subjectAltName: 'URI:client' },
    { name: 'CN=client and no SAN at all', subject: '/CN=client' },
    { name: '/CN=client/CN=evil with an unrelated URI SAN', subject: '/CN=client/CN=evil', subjectAltName: 'URI:spiffe://example.org/evil' },
  ];
  for (const { name, subject, subjectAltName } of refusals) {
    it(`refuses ${name}: 403, logged with the reason`, async () => {
      const { answer, logged } = await attempt(server, subject, subjectAltName);
      assert.equal(answer.status, 403, answer.body);
      assert.equal(logged['status'], 403);
      assert.equal(logged['as'], undefined);
      if (subjectAltName === undefined) {
        assert.equal(logged['reason'], 'no DNS or URI name in the certificate');
        assert.equal(answer.body, 'forbidden: the certificate names no DNS or URI identity\n');
      } else {
        assert.equal(logged['reason'], 'not in ALLOWED_CLIENTS');
        assert.match(answer.body, /^forbidden: .+ is authenticated but not allowed here\n$/);
      }
    });
  }

  it('lets in a DNS SAN that matches case-insensitively, greets and logs it by that SAN', async () => {
    const { answer, logged } = await attempt(server, '/CN=someone-else', 'DNS:other.example,DNS:CLIENT');
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'Hello CLIENT, from server (mTLS verified)\n');
    assert.equal(logged['as'], 'DNS:CLIENT');
    assert.equal(logged['client'], 'CLIENT');
  });

  it('matches an entry with a scheme against URI SANs exactly', async () => {
    const allowed = await attempt(spiffe, '/CN=x', 'DNS:spiffe.example,URI:spiffe://example.org/client');
    assert.equal(allowed.answer.status, 200);
    assert.equal(allowed.logged['as'], 'URI:spiffe://example.org/client');
    assert.equal(allowed.answer.body, 'Hello spiffe://example.org/client, from server (mTLS verified)\n');
    const otherCase = await attempt(spiffe, '/CN=x', 'URI:spiffe://example.org/Client');
    assert.equal(otherCase.answer.status, 403);
    const asDns = await attempt(spiffe, '/CN=spiffe:\\/\\/example.org\\/client', 'DNS:client');
    assert.equal(asDns.answer.status, 403);
  });

  it('without ALLOWED_CLIENTS, still refuses a certificate that names no DNS or URI identity', async () => {
    await using open = await startTestServer(join(out, 'server'));
    const { answer, logged } = await attempt(open, '/CN=client');
    assert.equal(answer.status, 403);
    assert.equal(logged['reason'], 'no DNS or URI name in the certificate');
    const named = await attempt(open, '/CN=x', 'URI:spiffe://example.org/a,DNS:b.example');
    assert.equal(named.answer.status, 200);
    assert.equal(named.logged['as'], 'URI:spiffe://example.org/a');
  });
});

describe("reading Node's subjectAltName string", () => {
  it('reads DNS, URI and IP entries, and a quoted value as one name (a comma cannot smuggle a second)', () => {
    assert.deepEqual(namesFromSubjectAltName('DNS:a.example, URI:spiffe://example.org/a, IP Address:127.0.0.1, email:x@example.org'), [
      { type: 'dns', value: 'a.example' },
      { type: 'uri', value: 'spiffe://example.org/a' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    assert.deepEqual(namesFromSubjectAltName('URI:"x, DNS:client", DNS:b.example'), [
      { type: 'uri', value: 'x, DNS:client' },
      { type: 'dns', value: 'b.example' },
    ]);
    assert.deepEqual(namesFromSubjectAltName(undefined), []);
  });
});

/** One GET, reporting also whether the TLS session was resumed and the connection used. */
function getOn(url: string, options: https.RequestOptions): Promise<Answer & { resumed: boolean; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (response) => {
        const socket = response.socket as TLSSocket;
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers, resumed: socket.isSessionReused(), socket }));
      })
      .on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Resolves when the socket closes; rejects after 5 s. */
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

describe('a client certificate that expires while its sessions and connections live on', () => {
  let out: string;
  let server: TestServer;
  let notAfter: Date;
  const tls13 = new https.Agent({ keepAlive: false, maxCachedSessions: 10 });
  const tls12 = new https.Agent({ keepAlive: false, maxCachedSessions: 10, maxVersion: 'TLSv1.2' });
  const kept = new https.Agent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0 });
  let options: https.RequestOptions;
  let keptSocket: TLSSocket;
  before(async () => {
    out = await issue('method1');
    server = await startTestServer(join(out, 'server'), ['client']);
    // The kept-alive connection idles until the certificate has expired, about 5 s: past Node's
    // default keepAliveTimeout (5 s), the server could close it just as the test reuses it.
    server.server.keepAliveTimeout = 60_000;
    // Valid for a few seconds: long enough for the first handshakes, then expired.
    notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 4000);
    const dir = await identity({ issuer: await caOf(out), validity: { notBefore: new Date(Date.now() - 60_000), notAfter } });
    options = await clientOptions(dir);
    for (const agent of [tls13, tls12]) {
      const first = await getOn(server.url(), { ...options, agent });
      assert.equal(first.status, 200);
      assert.equal(first.resumed, false);
    }
    const first = await getOn(server.url(), { ...options, agent: kept });
    assert.equal(first.status, 200);
    keptSocket = first.socket;
    await sleep(notAfter.getTime() + 1200 - Date.now());
  });
  after(async () => {
    for (const agent of [tls13, tls12, kept]) agent.destroy();
    await server.close();
  });

  for (const [version, agent] of [['TLS 1.3', tls13], ['TLS 1.2', tls12]] as const) {
    it(`refuses a ${version} session resumed after the certificate expired: 401, with the reason logged`, async () => {
      const seen = server.log.events.length;
      const answer = await getOn(server.url(), { ...options, agent });
      assert.equal(answer.resumed, true, 'the session was resumed (no new verification in the handshake)');
      assert.equal(answer.status, 401, answer.body);
      assert.equal(answer.body, `client certificate expired on ${notAfter.toISOString()}\n`);
      const logged = await requestLogged(server, seen);
      assert.equal(logged['status'], 401);
      assert.equal(logged['reason'], 'certificate expired');
      assert.equal(logged['client'], null);
    });
  }

  it('refuses the next request on a kept-alive connection and closes it', async () => {
    const answer = await getOn(server.url(), { ...options, agent: kept });
    assert.equal(answer.socket, keptSocket, 'the same connection');
    assert.equal(answer.status, 401);
    assert.equal(answer.headers['connection'], 'close');
    await closed(keptSocket);
  });
});

describe('a trust change (a new ca.crt) and what was authenticated under the old one', () => {
  it('invalidates session tickets: the next connection makes a full handshake', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    using agent = disposableAgent({ keepAlive: false, maxCachedSessions: 10 });
    const options = { ...(await clientOptions(join(out, 'client'))), agent };
    assert.equal((await getOn(server.url(), options)).resumed, false);
    assert.equal((await getOn(server.url(), options)).resumed, true, 'resumption works before the change');
    // Still trusts our CA (the client stays welcome), plus another one.
    const other = await rogueCa('otherCA');
    assert.equal((await reloadWith(server, { 'ca.crt': (await readFile(join(out, 'ca', 'ca.crt'), 'utf8')) + other.certificatePem })).loaded, true);
    const after = await getOn(server.url(), options);
    assert.equal(after.status, 200);
    assert.equal(after.resumed, false);
  });

  it('closes an idle kept-alive connection made under the old ca.crt; the client must handshake again (and is refused)', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    using agent = disposableAgent({ keepAlive: true, maxSockets: 1, maxCachedSessions: 0 });
    const options = { ...(await clientOptions(join(out, 'client'))), agent };
    const first = await getOn(server.url(), options);
    assert.equal(first.status, 200);
    // The server now trusts only another CA: our client is no longer welcome.
    const reload = await reloadWith(server, { 'ca.crt': (await rogueCa('otherCA')).certificatePem });
    assert.equal(reload.loaded, true);
    await closed(first.socket);
    const logged = await reload.logged((event) => event.event === 'connections_closed');
    assert.equal(logged['reason'], 'trust changed');
    assert.equal(logged['idle'], 1);
    await assert.rejects(getOn(server.url(), options), { code: 'ECONNRESET' });
  });
});

describe('a maximum connection age', () => {
  it('answers the first request after it with Connection: close, then the connection ends', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'), undefined, '127.0.0.1', { maxConnectionAgeMs: 300 });
    using agent = disposableAgent({ keepAlive: true, maxSockets: 1 });
    const options = { ...(await clientOptions(join(out, 'client'))), agent };
    const first = await getOn(server.url(), options);
    assert.equal(first.headers['connection'], 'keep-alive');
    await sleep(500);
    const second = await getOn(server.url(), options);
    assert.equal(second.socket, first.socket);
    assert.equal(second.status, 200);
    assert.equal(second.headers['connection'], 'close');
    await closed(second.socket);
  });
});

describe('session resumption stays on, with a short lifetime', () => {
  it('issues TLS 1.3 tickets that live 300 s (openssl sess_id reads the lifetime hint)', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    const client = join(out, 'client');
    const session = join(await temporaryDirectory(), 'session.pem');
    const connected = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', '-quiet',
      '-cert', join(client, 'tls.crt'), '-key', join(client, 'tls.key'), '-CAfile', join(client, 'ca.crt'), '-sess_out', session],
      { input: 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' });
    assert.match(connected.stdout, /Hello client/);
    const described = await run('openssl', ['sess_id', '-in', session, '-text', '-noout']);
    assert.equal(/TLS session ticket lifetime hint: (\d+) \(seconds\)/.exec(described.stdout)?.[1], '300');
  });
});

describe('TLS 1.2 renegotiation', () => {
  it('is refused: renegotiate() on a TLS 1.2 client connection fails', async () => {
    const out = await issue('method1');
    const server = await startTestServer(join(out, 'server'));
    const options = await clientOptions(join(out, 'client'));
    const socket = tls.connect({ ...options, host: '127.0.0.1', port: server.port, servername: 'localhost', maxVersion: 'TLSv1.2' } as tls.ConnectionOptions);
    try {
      await once(socket, 'secureConnect');
      assert.equal(socket.getProtocol(), 'TLSv1.2');
      // A second handshake on an open connection could present another certificate than the one authorized.
      // Refused, the server answers with a no_renegotiation alert: the socket errors, the callback never runs.
      const outcome = await new Promise<Error | null>((resolve) => {
        const timer = setTimeout(() => resolve(new Error('no outcome in 5 s')), 5000);
        const settle = (error: Error | null) => {
          clearTimeout(timer);
          resolve(error);
        };
        socket.once('error', settle);
        if (!socket.renegotiate({ rejectUnauthorized: true }, settle)) settle(new Error('renegotiate() refused locally'));
      });
      assert.ok(outcome instanceof Error, 'renegotiation must fail');
      assert.equal((outcome as NodeJS.ErrnoException).code, 'ERR_SSL_NO_RENEGOTIATION');
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});

describe('TLS 1.2 cipher suites: ECDHE with AEAD only', () => {
  let out: string;
  let rsa: TestServer;
  let ecdsa: TestServer;
  before(async () => {
    out = await issue('method1');
    rsa = await startTestServer(join(out, 'server'));
    const ecdsaDir = await craftedClient({ caDir: join(out, 'ca'), subject: '/CN=server', subjectAltName: 'DNS:localhost', purpose: 'serverAuth' });
    ecdsa = await startTestServer(ecdsaDir);
  });
  after(async () => {
    await rsa.close();
    await ecdsa.close();
  });

  /** openssl s_client with TLS 1.2 and one cipher suite, as our client; the suite it negotiated, if any. */
  async function negotiate(server: TestServer, cipher: string) {
    const client = join(out, 'client');
    const result = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', '-tls1_2', '-cipher', cipher, '-ign_eof',
      '-cert', join(client, 'tls.crt'), '-key', join(client, 'tls.key'), '-CAfile', join(client, 'ca.crt'), '-verify_return_error'],
      { input: 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' });
    return { code: result.code, cipher: /^\s*Cipher\s*: (\S+)/m.exec(result.stdout)?.[1], greeted: result.stdout.includes('Hello client, from server') };
  }

  for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'DHE-RSA-AES128-GCM-SHA256']) {
    it(`refuses ${cipher} (no forward secrecy or no AEAD): no cipher in common`, async () => {
      const seen = rsa.log.events.length;
      const result = await negotiate(rsa, cipher);
      assert.notEqual(result.code, 0);
      assert.equal(result.cipher, '0000', 'no suite negotiated');
      const logged = await rsa.log.waitFor((event) => event.event === 'handshake_failed', seen);
      assert.equal(logged['code'], 'ERR_SSL_NO_SHARED_CIPHER');
    });
  }

  for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
    it(`accepts ${cipher} with an RSA certificate`, async () => {
      const result = await negotiate(rsa, cipher);
      assert.equal(result.cipher, cipher);
      assert.equal(result.greeted, true);
    });
  }

  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    it(`accepts ${cipher} with an ECDSA certificate`, async () => {
      const result = await negotiate(ecdsa, cipher);
      assert.equal(result.cipher, cipher);
      assert.equal(result.greeted, true);
    });
  }
});

describe('reloads keep working when TLS_DIR itself is replaced', () => {
  /** A freshly issued server certificate in a folder of its own. */
  async function reissued(out: string): Promise<{ dir: string; fingerprint: string }> {
    const dir = await identity({ issuer: await caOf(out), commonName: 'server', names: 'localhost', profile: 'server' });
    return { dir, fingerprint: new X509Certificate(await readFile(join(dir, 'tls.crt'))).fingerprint256 };
  }

  /** The next tls_reloaded line after `seen` events: the fingerprint it loaded. */
  async function reloadedAfter(server: TestServer, seen: number): Promise<string> {
    const logged = await server.log.waitFor((event) => event.event === 'tls_reloaded', seen);
    return (logged['certificate'] as { fingerprint256: string }).fingerprint256;
  }

  /** Proves the watch is armed on the new folder: a change in it is picked up. */
  async function changeIsSeen(server: TestServer, out: string, tlsDir: string): Promise<void> {
    const next = await reissued(out);
    const seen = server.log.events.length;
    for (const file of ['tls.key', 'tls.crt']) await writeFile(join(tlsDir, file), await readFile(join(next.dir, file)));
    assert.equal(await reloadedAfter(server, seen), next.fingerprint);
  }

  it('a directory moved away and a new one moved in: re-armed, logged, reloaded', async () => {
    const out = await issue('method1');
    const base = await temporaryDirectory();
    const tlsDir = join(base, 'tls');
    await cp(join(out, 'server'), tlsDir, { recursive: true });
    await using server = await startTestServer(tlsDir);
    const fresh = await reissued(out);
    const seen = server.log.events.length;
    await rename(tlsDir, join(base, 'tls.old'));
    await rename(fresh.dir, tlsDir);
    const rearmed = await server.log.waitFor((event) => event.event === 'tls_watch_rearmed');
    assert.equal(rearmed['dir'], tlsDir);
    assert.equal(rearmed['level'], 'warn');
    assert.equal(await reloadedAfter(server, seen), fresh.fingerprint);
    await changeIsSeen(server, out, tlsDir);
  });

  it('a symlinked TLS_DIR swapped with mv -T: re-armed, logged, reloaded', async () => {
    const out = await issue('method1');
    const base = await temporaryDirectory();
    await cp(join(out, 'server'), join(base, 'v1'), { recursive: true });
    await symlink('v1', join(base, 'current'));
    const tlsDir = join(base, 'current');
    await using server = await startTestServer(tlsDir);
    const fresh = await reissued(out);
    await rename(fresh.dir, join(base, 'v2'));
    await symlink('v2', join(base, 'current.new'));
    const seen = server.log.events.length;
    const moved = await run('mv', ['-T', join(base, 'current.new'), tlsDir]);
    assert.equal(moved.code, 0, moved.stderr);
    await server.log.waitFor((event) => event.event === 'tls_watch_rearmed');
    assert.equal(await reloadedAfter(server, seen), fresh.fingerprint);
    await changeIsSeen(server, out, tlsDir);
  });
});

describe('log lines an operator can use', () => {
  it('a reload that changes ca.crt logs the trust before and after (subjects and fingerprints)', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    const before = new X509Certificate(await readFile(join(out, 'ca', 'ca.crt')));
    const other = new X509Certificate((await rogueCa('otherCA')).certificatePem);
    const reload = await reloadWith(server, { 'ca.crt': other.toString() });
    assert.equal(reload.loaded, true);
    const logged = await reload.logged((event) => event.event === 'trust_changed');
    assert.equal(logged['level'], 'warn');
    assert.deepEqual(logged['before'], [{ subject: 'CN=selfCA', fingerprint256: before.fingerprint256 }]);
    assert.deepEqual(logged['after'], [{ subject: 'CN=otherCA', fingerprint256: other.fingerprint256 }]);
  });

  it('the same handshake failure repeated from one source: a few lines per second, then one line with the suppressed count', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    const attempts = 40;
    for (let i = 0; i < attempts; i += 1) {
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.end('GET / HTTP/1.0\r\n\r\n');
      await once(socket, 'close');
    }
    const summary = await server.log.waitFor((event) => event.event === 'handshake_failed_suppressed');
    await sleep(1500); // a later window may hold a second summary
    const logged = server.log.events.filter((event) => event.event === 'handshake_failed');
    const suppressed = server.log.events
      .filter((event) => event.event === 'handshake_failed_suppressed')
      .reduce((sum, event) => sum + Number(event['suppressed']), 0);
    assert.equal(summary['remote'], '127.0.0.1');
    assert.equal(summary['code'], 'ERR_SSL_HTTP_REQUEST');
    assert.equal(summary['level'], 'warn');
    assert.equal(logged.length + suppressed, attempts, 'every failure is either logged or counted');
    assert.ok(logged.length < attempts / 2, `${logged.length} lines logged`);
    assert.equal(logged[0]?.['reason'], 'plain HTTP sent to the TLS port');
  });

  it("a reason OpenSSL has no name for in our table: its own words, without the thread id and the build's file paths", async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    // A TLS 1.3 client that accepts only Ed25519 signatures, against our RSA certificate.
    await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-tls1_3', '-sigalgs', 'ed25519'], { input: '' });
    const logged = await server.log.waitFor((event) => event.event === 'handshake_failed');
    assert.equal(logged['code'], 'ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM');
    assert.equal(logged['reason'], 'no suitable signature algorithm');
  });

  it('caps the length of names and subjects in log lines', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    const long = `spiffe://example.org/${'a'.repeat(3000)}`;
    const dir = await craftedClient({ caDir: join(out, 'ca'), subject: `/CN=${'b'.repeat(60)}`, subjectAltName: `URI:${long}` });
    const seen = server.log.events.length;
    const answer = await get(server.url(), await clientOptions(dir));
    assert.equal(answer.status, 200);
    const logged = await requestLogged(server, seen);
    assert.equal(logged['client'], `${long.slice(0, 256)}… (${long.length} characters)`);
    assert.equal(logged['as'], `URI:${long}`.slice(0, 256) + `… (${long.length + 4} characters)`);
  });
});

describe('connection tracking at a trust change (trackConnections, with a request held in flight)', () => {
  it('leaves a busy connection open until its response, which then closes it; an idle one closes at once', async () => {
    const out = await issue('method1');
    const read = (file: string) => readFile(join(out, 'server', file));
    const server = https.createServer({ cert: await read('tls.crt'), key: await read('tls.key') });
    const connections = trackConnections(server, 60_000);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (arrived = resolve));
    // What the app does around each request, with the response held until the test releases it.
    server.on('request', (request, response) => {
      const socket = request.socket as TLSSocket;
      const { refused, done } = connections.begin(socket);
      response.once('close', done);
      if (refused !== undefined) return void response.writeHead(401, { connection: 'close' }).end(refused);
      const answer = () => response.writeHead(200, connections.mustClose(socket) ? { connection: 'close' } : {}).end('ok');
      if (request.url !== '/hold') return answer();
      arrived();
      void held.then(answer);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = (path: string) => `https://localhost:${(server.address() as net.AddressInfo).port}${path}`;
    const busyAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const idleAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const options = { ca: await readFile(join(out, 'ca', 'ca.crt')) };
    try {
      const idle = await getOn(url('/'), { ...options, agent: idleAgent });
      const busy = getOn(url('/hold'), { ...options, agent: busyAgent });
      await holding;
      assert.deepEqual(connections.trustChanged(), { idle: 1, busy: 1 });
      await closed(idle.socket);
      release();
      const answer = await busy;
      assert.equal(answer.status, 200, 'the request in flight is answered');
      assert.equal(answer.headers['connection'], 'close');
      await closed(answer.socket);
    } finally {
      busyAgent.destroy();
      idleAgent.destroy();
      server.close();
    }
  });
});
