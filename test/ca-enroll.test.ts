// The CA service's enrollment, over real HTTPS on loopback, with its real
// SQLite database in a temporary directory; OpenSSL judges what it issues.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaDatabase } from '../services/ca/database.ts';
import { call, csrFor, enrollWith, newKey, opensslText, opensslVerify, renewWith, startTestCa, type Reply, type TestCa } from './helpers/ca.ts';

/** The one `refused` log line a refusal wrote, checked against the reply. */
function assertRefused(ca: TestCa, reply: Reply, status: number, code: string): Record<string, unknown> {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json?.['error'], code);
  assert.match(String(reply.json?.['message']), /^[^\n]+$/, 'one line of message');
  const refusals = ca.log.events.filter((event) => event.event === 'refused');
  const last = refusals.at(-1);
  assert.equal(last?.['code'], code);
  assert.equal(last?.['status'], status);
  return last as Record<string, unknown>;
}

describe('CA: enrollment with single-use tokens', () => {
  let ca: TestCa;
  before(async () => {
    ca = await startTestCa({ CERT_TTL: '10m' });
  });
  after(() => ca.close());

  it('answers /healthz and serves its CA certificate at /ca.crt', async () => {
    const health = await call(ca, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    const bundle = await call(ca, '/ca.crt');
    assert.equal(bundle.status, 200);
    assert.equal(bundle.headers['content-type'], 'application/x-pem-file');
    assert.equal(bundle.text, await readFile(join(ca.config.caDir, 'ca.crt'), 'utf8'));
  });

  it('enrolls a client: CN and SAN are the token identity, clientAuth only, CERT_TTL long; openssl verifies it', async () => {
    const token = await ca.token('client', 'client');
    const { certificatePem, certificate, reply } = await enrollWith(ca, token);
    assert.equal(reply.json?.['ca'], ca.caPem);
    assert.equal(reply.json?.['serial'], certificate.serialNumber);
    assert.equal(reply.json?.['notAfter'], certificate.validToDate.toISOString());
    assert.equal(reply.json?.['notBefore'], certificate.validFromDate.toISOString());
    assert.equal(certificate.validToDate.getTime() - certificate.validFromDate.getTime(), 10 * 60_000 + 5000);
    const text = await opensslText(ca, certificatePem);
    assert.match(text, /Subject: CN\s?=\s?client\n/);
    assert.match(text, /X509v3 Subject Alternative Name: \n\s+DNS:client\n/);
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    assert.match(text, /CA:FALSE/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.equal((await opensslVerify(ca, certificatePem, 'sslclient')).code, 0);
    assert.equal((await opensslVerify(ca, certificatePem, 'sslserver')).code, 2);
    const issued = ca.log.events.find((event) => event.event === 'issued' && event['serial'] === certificate.serialNumber);
    assert.equal(issued?.['identity'], 'client');
    assert.equal(issued?.['via'], 'enroll');
  });

  it('accepts a CSR made by openssl req (not only by our own builder)', async () => {
    const token = await ca.token('client', 'client');
    const keyFile = join(ca.dir, 'openssl.key');
    const { openssl } = await import('./helpers/processes.ts');
    const made = await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=client', '-keyout', keyFile);
    assert.equal(made.code, 0, made.stderr);
    const reply = await call(ca, '/enroll', { body: { token, csr: made.stdout } });
    assert.equal(reply.status, 201, reply.text);
  });

  it('accepts a CSR asking for a URI SAN (a SPIFFE ID), and still certifies only the token identity', async () => {
    const token = await ca.token('client', 'client');
    const keyFile = join(ca.dir, 'openssl-uri.key');
    const { openssl } = await import('./helpers/processes.ts');
    const made = await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=client', '-keyout', keyFile, '-addext', 'subjectAltName=URI:spiffe://example.org/x,DNS:other');
    assert.equal(made.code, 0, made.stderr);
    const reply = await call(ca, '/enroll', { body: { token, csr: made.stdout } });
    assert.equal(reply.status, 201, reply.text);
    const text = await opensslText(ca, String(reply.json?.['certificate']));
    assert.match(text, /X509v3 Subject Alternative Name: \n\s+DNS:client\n/);
    assert.doesNotMatch(text, /URI:|DNS:other/);
    const issued = ca.log.events.find((event) => event.event === 'issued' && event['serial'] === reply.json?.['serial']);
    assert.deepEqual((issued?.['requested'] as { names: string[] }).names, ['URI:spiffe://example.org/x', 'DNS:other']);
  });

  it('a token works once: the second use is refused with TOKEN_USED, and the CA says when it was used', async () => {
    const token = await ca.token('client', 'client');
    await enrollWith(ca, token);
    const second = await call(ca, '/enroll', { body: { token, csr: csrFor(await newKey()) } });
    const line = assertRefused(ca, second, 401, 'TOKEN_USED');
    assert.equal(line['identity'], 'client');
    assert.match(String(second.json?.['message']), /already used \(at \d{4}-/);
  });

  it('an enrollment whose answer was lost: the same token with a CSR for the same key gets the same certificate again (200, enrollment_replayed), nothing new on record', async () => {
    const token = await ca.token('lost-answer', 'client');
    const first = await enrollWith(ca, token, 'lost-answer');
    const again = await call(ca, '/enroll', { body: { token, csr: csrFor(first.key, 'lost-answer') } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json?.['certificate'], first.certificatePem);
    assert.equal(again.json?.['serial'], first.certificate.serialNumber);
    const replayed = ca.log.events.filter((event) => event.event === 'enrollment_replayed');
    assert.deepEqual(replayed.at(-1), { ...replayed.at(-1), identity: 'lost-answer', role: 'client', serial: first.certificate.serialNumber });
    const db = new CaDatabase(join(ca.config.caDir, 'ca.db'));
    try {
      assert.equal(db.unexpiredCertificates('lost-answer', new Date()).length, 1);
    } finally {
      await db.close();
    }
  });

  it('a used token with a CSR for another key, or for the key of a certificate since renewed, stays TOKEN_USED', async () => {
    const token = await ca.token('replayer', 'client');
    const first = await enrollWith(ca, token, 'replayer');
    assertRefused(ca, await call(ca, '/enroll', { body: { token, csr: csrFor(await newKey(), 'replayer') } }), 401, 'TOKEN_USED');
    // Another identity's used token cannot fetch this certificate either, even with a CSR for its key.
    const other = await ca.token('someone-else', 'client');
    await enrollWith(ca, other, 'someone-else');
    assertRefused(ca, await call(ca, '/enroll', { body: { token: other, csr: csrFor(first.key, 'replayer') } }), 401, 'TOKEN_USED');
    // Renewed: the enrolled certificate is superseded, and no longer handed out.
    const renewed = await renewWith(ca, first);
    assert.equal(renewed.reply.status, 201, renewed.reply.text);
    assertRefused(ca, await call(ca, '/enroll', { body: { token, csr: csrFor(first.key, 'replayer') } }), 401, 'TOKEN_USED');
  });

  it('init run again for an identity spends its earlier unused token: the first is refused (TOKEN_USED), the new one enrolls', async () => {
    const first = await ca.token('rerun', 'client');
    const second = await ca.token('rerun', 'client');
    const reply = await call(ca, '/enroll', { body: { token: first, csr: csrFor(await newKey(), 'rerun') } });
    const line = assertRefused(ca, reply, 401, 'TOKEN_USED');
    assert.equal(line['identity'], 'rerun');
    assert.match(String(reply.json?.['message']), /or replaced by a later init/);
    await enrollWith(ca, second, 'rerun');
  });

  it('the same token sent twice at once is spent once: one certificate, one TOKEN_USED', async () => {
    const token = await ca.token('client', 'client');
    const bodies = await Promise.all([newKey(), newKey()]).then((keys) => keys.map((key) => ({ token, csr: csrFor(key) })));
    const replies = await Promise.all(bodies.map((body) => call(ca, '/enroll', { body })));
    assert.deepEqual(replies.map((reply) => reply.status).sort(), [201, 401]);
    assert.equal(replies.find((reply) => reply.status === 401)?.json?.['error'], 'TOKEN_USED');
  });

  it('twenty enrollments at once: every one answered 201 and on record (commits made durable together)', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, index) => ca.token(`host-${index}`, 'client')));
    const enrolled = await Promise.all(tokens.map((token, index) => enrollWith(ca, token, `host-${index}`)));
    const db = new CaDatabase(join(ca.config.caDir, 'ca.db'));
    try {
      for (const [index, { certificate }] of enrolled.entries()) assert.equal(db.findCertificate(certificate.fingerprint256)?.identity, `host-${index}`);
    } finally {
      await db.close();
    }
  });

  it('a client token cannot get a serverAuth certificate: asking for the server role is refused (TOKEN_WRONG_ROLE)', async () => {
    const token = await ca.token('client', 'client');
    const reply = await call(ca, '/enroll', { body: { token, csr: csrFor(await newKey(), 'server'), role: 'server' } });
    const line = assertRefused(ca, reply, 403, 'TOKEN_WRONG_ROLE');
    assert.equal(line['role'], 'client');
    assert.equal(line['askedRole'], 'server');
    // The refusal did not spend the token: the right request still works.
    await enrollWith(ca, token, 'client', { role: 'client' });
  });

  it('a client token with a CSR naming the server gets a clientAuth certificate for the client, which openssl refuses as a server', async () => {
    const token = await ca.token('client', 'client');
    const { certificatePem, certificate } = await enrollWith(ca, token, 'server');
    assert.equal(certificate.subject.trim(), 'CN=client');
    assert.equal(certificate.subjectAltName, 'DNS:client');
    assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    const asServer = await opensslVerify(ca, certificatePem, 'sslserver');
    assert.equal(asServer.code, 2);
    assert.match(asServer.output, /unsuitable certificate purpose/);
    const issued = ca.log.events.find((event) => event.event === 'issued' && event['serial'] === certificate.serialNumber);
    assert.deepEqual((issued?.['requested'] as { names: string[] }).names, ['DNS:server']);
  });

  it('a server token gets serverAuth only, DNS:server; an admin token gets clientAuth, and the database keeps the admin role', async () => {
    const server = await enrollWith(ca, await ca.token('server', 'server'), 'server');
    assert.equal((await opensslVerify(ca, server.certificatePem, 'sslserver')).code, 0);
    assert.equal((await opensslVerify(ca, server.certificatePem, 'sslclient')).code, 2);
    assert.equal(server.certificate.subjectAltName, 'DNS:server');
    const admin = await enrollWith(ca, await ca.token('operator', 'admin'), 'operator');
    assert.equal((await opensslVerify(ca, admin.certificatePem, 'sslclient')).code, 0);
    assert.equal((await opensslVerify(ca, admin.certificatePem, 'sslserver')).code, 2);
    const db = new CaDatabase(join(ca.config.caDir, 'ca.db'));
    try {
      assert.equal(db.findCertificate(admin.certificate.fingerprint256)?.role, 'admin');
      assert.equal(db.findCertificate(server.certificate.fingerprint256)?.role, 'server');
    } finally {
      await db.close();
    }
  });

  it('an expired token is refused (TOKEN_EXPIRED)', async () => {
    const token = await ca.token('client', 'client', { tokenTtlMs: 1 });
    await sleep(20);
    const reply = await call(ca, '/enroll', { body: { token, csr: csrFor(await newKey()) } });
    assertRefused(ca, reply, 401, 'TOKEN_EXPIRED');
  });

  it('refuses a token this CA never minted, a malformed one, and a request without one', async () => {
    const csr = csrFor(await newKey());
    assertRefused(ca, await call(ca, '/enroll', { body: { token: randomBytes(32).toString('base64url'), csr } }), 401, 'TOKEN_INVALID');
    assertRefused(ca, await call(ca, '/enroll', { body: { token: 'not a token', csr } }), 401, 'TOKEN_INVALID');
    assertRefused(ca, await call(ca, '/enroll', { body: { token: 42, csr } }), 401, 'TOKEN_INVALID');
    assertRefused(ca, await call(ca, '/enroll', { body: { csr } }), 401, 'TOKEN_REQUIRED');
  });

  it('never writes a token into its log, and stores only its SHA-256', async () => {
    const token = await ca.token('client', 'client');
    await enrollWith(ca, token);
    await call(ca, '/enroll', { body: { token, csr: csrFor(await newKey()) } });
    assert.ok(!JSON.stringify(ca.log.events).includes(token));
    const hash = createHash('sha256').update(token).digest('hex');
    // Through SQL: new rows live in ca.db-wal until a checkpoint, not in ca.db.
    const db = new DatabaseSync(join(ca.config.caDir, 'ca.db'), { readOnly: true });
    let rows: Record<string, unknown>[];
    try {
      rows = db.prepare('SELECT * FROM tokens').all();
    } finally {
      db.close();
    }
    assert.equal(rows.filter((row) => row['hash'] === hash).length, 1, 'the hash is stored');
    assert.ok(!JSON.stringify(rows).includes(token), 'no column of any token row holds the token');
    // And in the bytes of every file SQLite writes, where the hash itself must be found first.
    const files = await Promise.all(['ca.db', 'ca.db-wal', 'ca.db-shm'].map((name) => readFile(join(ca.config.caDir, name)).catch(() => Buffer.alloc(0))));
    const bytes = Buffer.concat(files);
    assert.ok(bytes.includes(Buffer.from(hash)), 'the scan sees the hash');
    assert.ok(!bytes.includes(Buffer.from(token)), 'the token is in none of the database files');
  });

  it('refuses a CSR whose key it already certified (KEY_REUSED), before spending the token', async () => {
    const first = await enrollWith(ca, await ca.token('client', 'client'));
    const token = await ca.token('client', 'client');
    const reply = await call(ca, '/enroll', { body: { token, csr: csrFor(first.key) } });
    assertRefused(ca, reply, 400, 'KEY_REUSED');
    await enrollWith(ca, token);
  });
});

describe('CA: bad input is refused with a reason, and the CA keeps serving', () => {
  let ca: TestCa;
  let token: string;
  let csr: string;
  before(async () => {
    ca = await startTestCa();
    token = await ca.token('client', 'client');
    csr = csrFor(await newKey());
  });
  after(() => ca.close());

  /** After each bad request: still healthy, and the token still enrolls (nothing was spent). */
  async function stillServing(): Promise<void> {
    assert.equal((await call(ca, '/healthz')).status, 200);
  }

  const cases: { name: string; send: () => Promise<Reply>; status: number; code: string }[] = [
    { name: 'a garbage CSR', send: () => call(ca, '/enroll', { body: { token, csr: 'hello' } }), status: 400, code: 'CSR_INVALID' },
    {
      name: 'a PEM block that is not DER inside',
      send: () => call(ca, '/enroll', { body: { token, csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' } }),
      status: 400,
      code: 'CSR_INVALID',
    },
    {
      name: 'a CSR whose signature does not match (one byte of the name changed)',
      send: () => call(ca, '/enroll', { body: { token, csr: tamper(csr) } }),
      status: 400,
      code: 'CSR_INVALID',
    },
    { name: 'no CSR', send: () => call(ca, '/enroll', { body: { token } }), status: 400, code: 'CSR_INVALID' },
    {
      name: 'a huge body announced by Content-Length',
      send: () => call(ca, '/enroll', { body: JSON.stringify({ token, csr: 'A'.repeat(1024 * 1024) }) }),
      status: 413,
      code: 'BODY_TOO_LARGE',
    },
    {
      name: 'a huge chunked body (no Content-Length)',
      send: () => call(ca, '/enroll', { body: JSON.stringify({ token, csr: 'A'.repeat(200 * 1024) }), headers: { 'transfer-encoding': 'chunked' } }),
      status: 413,
      code: 'BODY_TOO_LARGE',
    },
    {
      name: 'a form-encoded body',
      send: () => call(ca, '/enroll', { body: `token=${token}`, contentType: 'application/x-www-form-urlencoded' }),
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    { name: 'no content type', send: () => call(ca, '/enroll', { body: JSON.stringify({ token, csr }), contentType: null }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'text that is not JSON', send: () => call(ca, '/enroll', { body: '{"token": ' }), status: 400, code: 'BODY_INVALID' },
    { name: 'a JSON array', send: () => call(ca, '/enroll', { body: '[1, 2]' }), status: 400, code: 'BODY_INVALID' },
    { name: 'an unknown path', send: () => call(ca, '/sign', { body: { token, csr } }), status: 404, code: 'NOT_FOUND' },
    { name: 'GET on /enroll', send: () => call(ca, '/enroll'), status: 405, code: 'METHOD_NOT_ALLOWED' },
  ];

  for (const { name, send, status, code } of cases) {
    it(`${name}: ${status} ${code}`, async () => {
      assertRefused(ca, await send(), status, code);
      await stillServing();
    });
  }

  it('answers 413 from Content-Length alone, without waiting for (or reading) the announced gigabyte', { timeout: 20_000 }, async () => {
    const reply = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const request = https.request({
        host: '127.0.0.1',
        servername: 'localhost',
        port: ca.port,
        path: '/enroll',
        method: 'POST',
        ca: ca.caPem,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(1024 ** 3) },
      });
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, connection: response.headers.connection }));
      });
      request.on('error', reject);
      request.write('{"token": "');
    });
    assert.equal(reply.status, 413);
    assert.equal(JSON.parse(reply.body).error, 'BODY_TOO_LARGE');
    assert.equal(reply.connection, 'close');
    await stillServing();
  });

  it('plain HTTP on its TLS port: the handshake fails, is logged, and the CA keeps serving', async () => {
    const socket = connect(ca.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.end('POST /enroll HTTP/1.1\r\nHost: ca\r\n\r\n');
    const failed = await ca.log.waitFor((event) => event.event === 'handshake_failed');
    assert.equal(failed['remote'], '127.0.0.1');
    assert.match(String(failed['code']), /^ERR_SSL_/);
    await stillServing();
  });

  it('JSON that breaks at the token: BODY_INVALID, and no part of the token in the answer or the log', async () => {
    const reply = await call(ca, '/enroll', { body: `{"token":${token},"csr":"x"}` });
    assertRefused(ca, reply, 400, 'BODY_INVALID');
    const said = reply.text + JSON.stringify(ca.log.events);
    // Any 6 characters in a row of the token are a leak (V8's message quotes 10); by chance, one in millions.
    for (let at = 0; at + 6 <= token.length; at += 1) assert.ok(!said.includes(token.slice(at, at + 6)), `"${token.slice(at, at + 6)}" of the token was echoed: ${reply.text}`);
    assert.match(String(reply.json?.['message']), /^the body is not valid JSON/);
    await stillServing();
  });

  it('none of them spent the token: it still enrolls', async () => {
    await enrollWith(ca, token);
  });
});

/** Changes one byte inside the CSR's signed part, keeping valid base64 and DER lengths. */
function tamper(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('client'));
  der[at] = 'C'.charCodeAt(0);
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}
