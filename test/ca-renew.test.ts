// Renewal over mutual TLS: the CA renews only a current certificate it issued,
// for the identity on record, and only for a new key. Real HTTPS on loopback,
// a real SQLite file, OpenSSL as the judge of what comes back.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaDatabase } from '../services/ca/database.ts';
import { issueCertificate, type Issuer } from '../core/x509.ts';
import { openssl, temporaryDirectory } from './helpers/processes.ts';
import { call, enrollWith, newKey, opensslText, opensslVerify, renewWith, startTestCa, type Enrolled, type Reply, type TestCa } from './helpers/ca.ts';

const MINUTE = 60_000;

function assertRefused(ca: TestCa, reply: Reply, status: number, code: string): Record<string, unknown> {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json?.['error'], code);
  const last = ca.log.events.filter((event) => event.event === 'refused').at(-1);
  assert.equal(last?.['code'], code);
  assert.equal(last?.['path'], '/renew');
  return last as Record<string, unknown>;
}

/** The CA's own key, read from its directory: only a test (or a thief) signs with it outside the CA. */
async function ourCaKey(ca: TestCa): Promise<Issuer> {
  return { certificate: new X509Certificate(ca.caPem), key: createPrivateKey(await readFile(join(ca.config.caDir, 'ca.key'))) };
}

/** A client certificate made with the builder, outside the CA's inventory. */
async function builtClient(issuer: Issuer, notBefore: Date, notAfter: Date): Promise<{ certificatePem: string; key: import('node:crypto').KeyObject }> {
  const key = await newKey();
  const certificatePem = issueCertificate({ profile: 'client', commonName: 'client', names: [{ type: 'dns', value: 'client' }], publicKey: key, issuer, notBefore, notAfter });
  return { certificatePem, key };
}

async function withDatabase<T>(ca: TestCa, use: (db: CaDatabase) => T): Promise<T> {
  const db = new CaDatabase(join(ca.config.caDir, 'ca.db'));
  try {
    return use(db);
  } finally {
    await db.close();
  }
}

describe('CA: renewal over mTLS', () => {
  let ca: TestCa;
  let client: Enrolled;
  before(async () => {
    ca = await startTestCa({ CERT_TTL: '10m' });
    client = await enrollWith(ca, await ca.token('client', 'client'));
  });
  after(() => ca.close());

  it('renews three times in a row, each time a new serial and a new key; the inventory links them', async () => {
    let current = { certificatePem: client.certificatePem, key: client.key };
    const serials = [client.certificate.serialNumber];
    const keys = new Set([client.certificate.publicKey.export({ type: 'spki', format: 'der' }).toString('hex')]);
    for (let round = 0; round < 3; round += 1) {
      const { reply, key } = await renewWith(ca, current);
      assert.equal(reply.status, 201, reply.text);
      const certificatePem = String(reply.json?.['certificate']);
      const certificate = new X509Certificate(certificatePem);
      assert.equal((await opensslVerify(ca, certificatePem, 'sslclient')).code, 0);
      assert.ok(certificate.checkPrivateKey(key));
      serials.push(certificate.serialNumber);
      keys.add(certificate.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
      current = { certificatePem, key };
    }
    assert.equal(new Set(serials).size, 4);
    assert.equal(keys.size, 4);
    await withDatabase(ca, (db) => {
      const chain = serials.map((serial) => db.certificates().find((record) => record.serial === serial));
      assert.deepEqual(chain.map((record) => record?.renewedFrom ?? null), [null, ...serials.slice(0, 3)]);
      assert.deepEqual(chain.map((record) => record?.status), ['superseded', 'superseded', 'superseded', 'issued']);
      assert.deepEqual(chain.map((record) => record?.issuedVia), ['enroll', 'renew', 'renew', 'renew']);
    });
    client = { ...client, certificatePem: current.certificatePem, certificate: new X509Certificate(current.certificatePem), key: current.key };
  });

  it('issues for the presented identity, not the CSR: a client asking for "server" gets CN=client, DNS:client, clientAuth', async () => {
    const { reply, key } = await renewWith(ca, client, { commonName: 'server' });
    assert.equal(reply.status, 201, reply.text);
    const certificatePem = String(reply.json?.['certificate']);
    client = { ...client, certificatePem, certificate: new X509Certificate(certificatePem), key };
    const text = await opensslText(ca, certificatePem);
    assert.match(text, /Subject: CN\s?=\s?client\n/);
    assert.match(text, /DNS:client\n/);
    assert.doesNotMatch(text, /DNS:server/);
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    assert.equal((await opensslVerify(ca, certificatePem, 'sslserver')).code, 2);
    const issued = ca.log.events.filter((event) => event.event === 'issued').at(-1);
    assert.equal(issued?.['identity'], 'client');
    assert.deepEqual(issued?.['requested'], { commonName: 'server', names: ['DNS:server'], key: 'ECDSA P-256' });
  });

  it('renews a server with its serverAuth-only certificate, and the new one is serverAuth only', async () => {
    const server = await enrollWith(ca, await ca.token('server', 'server'), 'server');
    const { reply } = await renewWith(ca, server, { commonName: 'server' });
    assert.equal(reply.status, 201, reply.text);
    const certificatePem = String(reply.json?.['certificate']);
    assert.equal((await opensslVerify(ca, certificatePem, 'sslserver')).code, 0);
    assert.equal((await opensslVerify(ca, certificatePem, 'sslclient')).code, 2);
  });

  it('refuses the key of the certificate being renewed (KEY_REUSED)', async () => {
    const { reply } = await renewWith(ca, client, { key: client.key });
    assertRefused(ca, reply, 400, 'KEY_REUSED');
  });

  it('refuses any key it certified before, e.g. the one two renewals ago (KEY_REUSED)', async () => {
    const first = await enrollWith(ca, await ca.token('client', 'client'));
    const second = await renewWith(ca, first);
    assert.equal(second.reply.status, 201);
    const current = { certificatePem: String(second.reply.json?.['certificate']), key: second.key };
    const { reply } = await renewWith(ca, current, { key: first.key });
    assertRefused(ca, reply, 400, 'KEY_REUSED');
  });

  it('refuses a certified key sent again as a compressed point (KEY_REUSED): one key, one fingerprint, whatever its encoding', async () => {
    const first = await enrollWith(ca, await ca.token('client', 'client'));
    const dir = await temporaryDirectory('mtls-compressed-');
    await writeFile(join(dir, 'key.pem'), first.key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    // OpenSSL writes the CSR's SubjectPublicKeyInfo with the point compressed: other bytes, the same key.
    await openssl('ec', '-in', join(dir, 'key.pem'), '-conv_form', 'compressed', '-out', join(dir, 'compressed.pem'));
    await openssl('req', '-new', '-key', join(dir, 'compressed.pem'), '-subj', '/CN=client', '-addext', 'subjectAltName=DNS:client', '-out', join(dir, 'client.csr'));
    const text = (await openssl('req', '-in', join(dir, 'client.csr'), '-noout', '-text')).stdout;
    assert.match(text, /pub:\s+0[23]:/, 'the CSR carries a compressed point');
    const csr = await readFile(join(dir, 'client.csr'), 'utf8');
    const reply = await call(ca, '/renew', { body: { csr }, identity: first });
    assertRefused(ca, reply, 400, 'KEY_REUSED');
  });

  it('refuses a renewal without a client certificate (CERTIFICATE_REQUIRED)', async () => {
    const reply = await call(ca, '/renew', { body: { csr: 'unused' } });
    assertRefused(ca, reply, 401, 'CERTIFICATE_REQUIRED');
  });

  it('refuses a renewal presenting an expired certificate of this CA (CERTIFICATE_EXPIRED)', async () => {
    const expired = await builtClient(await ourCaKey(ca), new Date(Date.now() - 20 * MINUTE), new Date(Date.now() - 10 * MINUTE));
    const { reply } = await renewWith(ca, expired);
    const line = assertRefused(ca, reply, 401, 'CERTIFICATE_EXPIRED');
    assert.equal((line['presented'] as { subject: string }).subject, 'CN=client');
  });

  it('refuses a certificate from another CA with the same name (CERTIFICATE_UNKNOWN)', async () => {
    const rogueKey = await newKey();
    const now = Date.now();
    const roguePem = issueCertificate({
      profile: 'ca',
      commonName: 'mtls-demo lifecycle CA',
      names: [],
      publicKey: rogueKey,
      subjectKey: rogueKey,
      notBefore: new Date(now - MINUTE),
      notAfter: new Date(now + 60 * MINUTE),
    });
    const forged = await builtClient({ certificate: new X509Certificate(roguePem), key: rogueKey }, new Date(now - MINUTE), new Date(now + 10 * MINUTE));
    const { reply } = await renewWith(ca, forged);
    assertRefused(ca, reply, 401, 'CERTIFICATE_UNKNOWN');
  });

  it('refuses a certificate signed with its key that is not in its inventory (CERTIFICATE_UNKNOWN)', async () => {
    const now = Date.now();
    const unknown = await builtClient(await ourCaKey(ca), new Date(now - MINUTE), new Date(now + 10 * MINUTE));
    const { reply } = await renewWith(ca, unknown);
    assertRefused(ca, reply, 401, 'CERTIFICATE_UNKNOWN');
  });

  it('refuses a certificate the inventory marks revoked (CERTIFICATE_REVOKED)', async () => {
    const victim = await enrollWith(ca, await ca.token('client', 'client'));
    const db = new (await import('node:sqlite')).DatabaseSync(join(ca.config.caDir, 'ca.db'));
    db.prepare("UPDATE certificates SET status = 'revoked' WHERE serial = ?").run(victim.certificate.serialNumber);
    db.close();
    const { reply } = await renewWith(ca, victim);
    assertRefused(ca, reply, 401, 'CERTIFICATE_REVOKED');
  });

  it('refuses a garbage CSR from a valid client (CSR_INVALID) and keeps serving', async () => {
    const reply = await call(ca, '/renew', { body: { csr: '-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n' }, identity: client });
    assertRefused(ca, reply, 400, 'CSR_INVALID');
    assert.equal((await renewWith(ca, client)).reply.status, 201);
  });
});

describe('CA: a certificate that expired after the handshake cannot renew', () => {
  let ca: TestCa;
  let enrolled: Enrolled;
  let keptAlive: https.Agent;
  let resuming: https.Agent;
  before(async () => {
    ca = await startTestCa({ CERT_TTL: '3s' });
    enrolled = await enrollWith(ca, await ca.token('client', 'client'));
    keptAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
    // No keep-alive, but TLS sessions cached: the next connection resumes this one's session.
    resuming = new https.Agent({ keepAlive: false, maxCachedSessions: 10 });
    // Both present the certificate while it is valid: the connection and the session are then established with it.
    assert.equal((await call(ca, '/healthz', { agent: keptAlive, identity: enrolled })).status, 200);
    assert.equal((await call(ca, '/healthz', { agent: resuming, identity: enrolled })).status, 200);
    // Keep the connection busy (the server closes idle ones after 5 s) until the certificate has expired.
    for (let round = 0; round < 20 && Date.now() <= enrolled.certificate.validToDate.getTime() + 1000; round += 1) {
      await call(ca, '/healthz', { agent: keptAlive, identity: enrolled });
      await sleep(500);
    }
    assert.ok(Date.now() > enrolled.certificate.validToDate.getTime(), 'the certificate has expired');
  });
  after(async () => {
    keptAlive.destroy();
    resuming.destroy();
    await ca.close();
  });

  it('on the connection it was presented on (kept alive): CERTIFICATE_EXPIRED', async () => {
    const { reply } = await renewWith(ca, enrolled, { agent: keptAlive });
    assert.ok(reply.reusedSocket, 'the same connection carried the request');
    assertRefused(ca, reply, 401, 'CERTIFICATE_EXPIRED');
  });

  it('on a new connection from a client that caches TLS sessions: no resumption (the CA issues no tickets), CERTIFICATE_EXPIRED', async () => {
    const { reply } = await renewWith(ca, enrolled, { agent: resuming });
    assert.equal(reply.sessionReused, false, 'a resumed session would carry the certificate of the first handshake');
    assertRefused(ca, reply, 401, 'CERTIFICATE_EXPIRED');
  });

  it('on a new connection with a full handshake: CERTIFICATE_EXPIRED', async () => {
    const { reply } = await renewWith(ca, enrolled);
    assert.ok(!reply.sessionReused);
    assertRefused(ca, reply, 401, 'CERTIFICATE_EXPIRED');
  });
});

describe('CA: a superseded certificate cannot renew (a stolen copy dies at the owner\'s next renewal)', () => {
  let ca: TestCa;
  before(async () => {
    ca = await startTestCa({ CERT_TTL: '10m' });
  });
  after(() => ca.close());

  async function identityCertificates(identity: string): Promise<string[]> {
    return withDatabase(ca, (db) => db.certificates().filter((record) => record.identity === identity).map((record) => `${record.serial}:${record.status}`));
  }

  it('a copy of the certificate and key, used after the owner renewed, is refused (CERTIFICATE_SUPERSEDED, a warn line) and nothing is issued', async () => {
    const owner = await enrollWith(ca, await ca.token('victim', 'client'), 'victim');
    const stolen = { certificatePem: owner.certificatePem, key: owner.key };
    const renewed = await renewWith(ca, owner, { commonName: 'victim' });
    assert.equal(renewed.reply.status, 201, renewed.reply.text);
    const before = await identityCertificates('victim');

    const theft = await renewWith(ca, stolen, { commonName: 'victim' });
    const line = assertRefused(ca, theft.reply, 403, 'CERTIFICATE_SUPERSEDED');
    assert.equal(line['level'], 'warn');
    assert.equal(line['identity'], 'victim');
    assert.equal(line['supersededBy'], renewed.reply.json?.['serial']);
    assert.match(String(theft.reply.json?.['message']), /superseded/);
    // Had the copy renewed, its fork could renew on and on: nothing new is on record.
    assert.deepEqual(await identityCertificates('victim'), before);
    // The owner's line is untouched: the current certificate still renews.
    const next = await renewWith(ca, { certificatePem: String(renewed.reply.json?.['certificate']), key: renewed.key }, { commonName: 'victim' });
    assert.equal(next.reply.status, 201, next.reply.text);
  });

  it('a retry that lost its answer (the superseded certificate, a CSR for the new key) gets the same certificate back, and nothing new is issued', async () => {
    const owner = await enrollWith(ca, await ca.token('retry', 'client'), 'retry');
    const first = await renewWith(ca, owner, { commonName: 'retry' });
    assert.equal(first.reply.status, 201, first.reply.text);
    const before = await identityCertificates('retry');

    const again = await renewWith(ca, owner, { commonName: 'retry', key: first.key });
    assert.equal(again.reply.status, 200, again.reply.text);
    assert.equal(again.reply.json?.['certificate'], first.reply.json?.['certificate']);
    assert.equal(again.reply.json?.['serial'], first.reply.json?.['serial']);
    assert.deepEqual(await identityCertificates('retry'), before);
    const replayed = ca.log.events.filter((event) => event.event === 'renewal_replayed').at(-1);
    assert.equal(replayed?.['serial'], first.reply.json?.['serial']);
    assert.equal(replayed?.['renewedFrom'], owner.certificate.serialNumber);
  });

  it('a database made before certificates were kept whole gains the column on open, its rows intact', async () => {
    const path = join(ca.dir, 'old.db');
    const old = new (await import('node:sqlite')).DatabaseSync(path);
    old.exec(`CREATE TABLE certificates (serial TEXT PRIMARY KEY, identity TEXT NOT NULL, role TEXT NOT NULL, not_before TEXT NOT NULL,
      not_after TEXT NOT NULL, key_fingerprint256 TEXT NOT NULL, fingerprint256 TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
      issued_at TEXT NOT NULL, issued_via TEXT NOT NULL, renewed_from TEXT REFERENCES certificates (serial)) STRICT`);
    old.exec("INSERT INTO certificates VALUES ('01', 'a', 'client', 'x', 'y', 'k1', 'f1', 'superseded', 'z', 'enroll', NULL), ('02', 'a', 'client', 'x', 'y', 'k2', 'f2', 'issued', 'z', 'renew', '01')");
    old.close();
    const db = new CaDatabase(path);
    try {
      const successor = db.successorOf('01');
      assert.equal(successor?.record.serial, '02');
      assert.equal(successor?.pem, null, 'an old row has no PEM: a retry for it is refused, never answered with nothing');
      assert.equal(db.certificates().length, 2);
    } finally {
      await db.close();
    }
  });

  it('two renewals from one certificate at once: one certificate, one CERTIFICATE_SUPERSEDED', async () => {
    const owner = await enrollWith(ca, await ca.token('twice', 'client'), 'twice');
    const replies = await Promise.all([renewWith(ca, owner, { commonName: 'twice' }), renewWith(ca, owner, { commonName: 'twice' })]);
    assert.deepEqual(replies.map(({ reply }) => reply.status).sort(), [201, 403]);
    assert.equal(replies.find(({ reply }) => reply.status === 403)?.reply.json?.['error'], 'CERTIFICATE_SUPERSEDED');
    assert.equal((await identityCertificates('twice')).length, 2);
  });
});
