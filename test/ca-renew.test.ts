// Renewal over mutual TLS: the CA renews only a current certificate it issued,
// for the identity on record, and only for a new key. Real HTTPS on loopback,
// a real SQLite file, OpenSSL as the judge of what comes back.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaDatabase } from '../services/ca/database.ts';
import { issueCertificate, type Issuer } from '../services/shared/x509.ts';
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
    const { reply } = await renewWith(ca, client, { commonName: 'server' });
    assert.equal(reply.status, 201, reply.text);
    const certificatePem = String(reply.json?.['certificate']);
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
    // Both renew while the certificate is valid: the connection and the session are then established with it.
    assert.equal((await renewWith(ca, enrolled, { agent: keptAlive })).reply.status, 201);
    assert.equal((await renewWith(ca, enrolled, { agent: resuming })).reply.status, 201);
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
