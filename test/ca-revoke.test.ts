// Revocation at the CA: who may revoke (an admin certificate, never a
// workload's), what a revocation changes (the inventory, the CRL, renewals),
// and the CRL judged by OpenSSL. Real HTTPS on loopback, a real SQLite file.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { normalizeSerial } from '../core/certificate.ts';
import { parseCrl } from '../core/crl.ts';
import { call, enrollWith, renewWith, startTestCa, type Enrolled, type Reply, type TestCa } from './helpers/ca.ts';
import { openssl } from './helpers/processes.ts';

function assertRefused(ca: TestCa, reply: Reply, status: number, code: string, path: string): void {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.json?.['error'], code);
  const last = ca.log.events.filter((event) => event.event === 'refused').at(-1);
  assert.equal(last?.['code'], code);
  assert.equal(last?.['path'], path);
}

const identityOf = (enrolled: Enrolled) => ({ certificatePem: enrolled.certificatePem, key: enrolled.key });

describe('CA: revocation and its CRL', () => {
  let ca: TestCa;
  let admin: Enrolled;
  let client: Enrolled;
  let other: Enrolled;
  let server: Enrolled;
  before(async () => {
    ca = await startTestCa({ CERT_TTL: '10m', CRL_NEXT_UPDATE: '1m' });
    admin = await enrollWith(ca, await ca.token('admin', 'admin'), 'admin');
    client = await enrollWith(ca, await ca.token('client', 'client'));
    other = await enrollWith(ca, await ca.token('client2', 'client'), 'client2');
    server = await enrollWith(ca, await ca.token('server', 'server'), 'server');
  });
  after(() => ca.close());

  it('serves a CRL at /crl.pem with the one PEM label OpenSSL reads, signed by the CA, listing nothing yet', async () => {
    const reply = await call(ca, '/crl.pem');
    assert.equal(reply.status, 200);
    assert.match(reply.text, /^-----BEGIN X509 CRL-----\n/);
    const crl = parseCrl(reply.text);
    assert.equal(crl.revokedSerials.size, 0);
    assert.ok(crl.nextUpdate !== undefined && crl.nextUpdate.getTime() - Date.now() <= 60_000 && crl.nextUpdate.getTime() > Date.now());
  });

  for (const [who, pick] of [
    ['a client', () => client],
    ['a server', () => server],
  ] as const) {
    it(`refuses to let ${who} certificate administer: 403 ROLE_FORBIDDEN on /admin/revoke and /admin/certificates, nothing revoked`, async () => {
      const workload = pick();
      const attack = await call(ca, '/admin/revoke', { body: { identity: 'client2' }, identity: identityOf(workload) });
      assertRefused(ca, attack, 403, 'ROLE_FORBIDDEN', '/admin/revoke');
      assert.match(String(attack.json?.['message']), /needs a certificate of role admin/);
      const list = await call(ca, '/admin/certificates', { identity: identityOf(workload) });
      assertRefused(ca, list, 403, 'ROLE_FORBIDDEN', '/admin/certificates');
      assert.equal(parseCrl((await call(ca, '/crl.pem')).text).revokedSerials.size, 0);
    });
  }

  it('refuses administration without a client certificate: 401 CERTIFICATE_REQUIRED', async () => {
    assertRefused(ca, await call(ca, '/admin/revoke', { body: { identity: 'client' } }), 401, 'CERTIFICATE_REQUIRED', '/admin/revoke');
  });

  it('refuses a request that names both or neither target, or an unknown reason: 400 REVOCATION_INVALID; an unknown identity or serial: 404', async () => {
    const as = identityOf(admin);
    assertRefused(ca, await call(ca, '/admin/revoke', { body: {}, identity: as }), 400, 'REVOCATION_INVALID', '/admin/revoke');
    assertRefused(ca, await call(ca, '/admin/revoke', { body: { identity: 'client', serial: '01' }, identity: as }), 400, 'REVOCATION_INVALID', '/admin/revoke');
    assertRefused(ca, await call(ca, '/admin/revoke', { body: { identity: 'client', reason: 'bored' }, identity: as }), 400, 'REVOCATION_INVALID', '/admin/revoke');
    assertRefused(ca, await call(ca, '/admin/revoke', { body: { identity: 'nobody' }, identity: as }), 404, 'CERTIFICATE_NOT_FOUND', '/admin/revoke');
    assertRefused(ca, await call(ca, '/admin/revoke', { body: { serial: '0BADC0DE' }, identity: as }), 404, 'CERTIFICATE_NOT_FOUND', '/admin/revoke');
  });

  it('revokes every unexpired certificate of an identity (the superseded one too), records why, and publishes a CRL listing them at once', async () => {
    const renewed = await renewWith(ca, identityOf(client));
    assert.equal(renewed.reply.status, 201, renewed.reply.text);
    const newSerial = String(renewed.reply.json?.['serial']);
    const before = parseCrl((await call(ca, '/crl.pem')).text).number ?? 0n;
    const reply = await call(ca, '/admin/revoke', { body: { identity: 'client', reason: 'keyCompromise' }, identity: identityOf(admin) });
    assert.equal(reply.status, 200, reply.text);
    const revoked = (reply.json?.['revoked'] as { serial: string; status: string; revocationReason: string }[]).map((record) => record.serial).sort();
    assert.deepEqual(revoked, [client.certificate.serialNumber, newSerial].sort());
    const crl = parseCrl((await call(ca, '/crl.pem')).text);
    assert.ok((crl.number ?? 0n) > before, 'a new CRL number');
    for (const serial of revoked) assert.ok(crl.revokedSerials.has(normalizeSerial(serial)), serial);
    assert.ok(!crl.revokedSerials.has(normalizeSerial(other.certificate.serialNumber)));
    const list = await call(ca, '/admin/certificates', { identity: identityOf(admin) });
    assert.equal(list.status, 200, list.text);
    const rows = list.json?.['certificates'] as { serial: string; status: string; revocationReason: string | null; revokedAt: string | null }[];
    for (const serial of revoked) {
      const row = rows.find((candidate) => candidate.serial === serial);
      assert.equal(row?.status, 'revoked');
      assert.equal(row?.revocationReason, 'keyCompromise');
      assert.ok(row?.revokedAt !== null);
    }
    assert.equal(rows.find((row) => row.serial === other.certificate.serialNumber)?.status, 'issued');
    const logged = ca.log.events.find((event) => event.event === 'revoked');
    assert.deepEqual((logged?.['by'] as { identity: string }).identity, 'admin');
  });

  it('refuses a renewal by a revoked certificate: 401 CERTIFICATE_REVOKED', async () => {
    const { reply } = await renewWith(ca, identityOf(client));
    assertRefused(ca, reply, 401, 'CERTIFICATE_REVOKED', '/renew');
  });

  it('revoking again changes nothing: the first time and reason stand, no new CRL', async () => {
    const number = parseCrl((await call(ca, '/crl.pem')).text).number;
    const reply = await call(ca, '/admin/revoke', { body: { serial: client.certificate.serialNumber, reason: 'superseded' }, identity: identityOf(admin) });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json?.['revoked'], []);
    assert.equal((reply.json?.['alreadyRevoked'] as { revocationReason: string }[])[0]?.revocationReason, 'keyCompromise');
    assert.equal(parseCrl((await call(ca, '/crl.pem')).text).number, number);
  });

  it('OpenSSL agrees: openssl crl -verify against ca.crt, and openssl verify -crl_check refuses the revoked certificate and passes the good one', async () => {
    const file = (name: string) => join(ca.dir, name);
    await writeFile(file('crl.pem'), (await call(ca, '/crl.pem')).text);
    await writeFile(file('revoked.crt'), client.certificatePem);
    await writeFile(file('good.crt'), other.certificatePem);
    const crl = await openssl('crl', '-in', file('crl.pem'), '-CAfile', join(ca.config.caDir, 'ca.crt'), '-noout', '-verify', '-text');
    assert.equal(crl.code, 0, crl.stderr);
    assert.match(crl.stderr + crl.stdout, /verify OK/);
    assert.match(crl.stdout, /X509v3 CRL Number/);
    assert.match(crl.stdout, /X509v3 Authority Key Identifier/);
    assert.match(crl.stdout, /Key Compromise/);
    const check = (leaf: string) => openssl('verify', '-crl_check', '-CRLfile', file('crl.pem'), '-CAfile', join(ca.config.caDir, 'ca.crt'), leaf);
    const bad = await check(file('revoked.crt'));
    assert.equal(bad.code, 2);
    assert.match(bad.stdout + bad.stderr, /certificate revoked/);
    const good = await check(file('good.crt'));
    assert.equal(good.code, 0, good.stdout + good.stderr);
  });

  it('a revoked admin administers no more: 401 CERTIFICATE_REVOKED', async () => {
    const second = await enrollWith(ca, await ca.token('admin2', 'admin'), 'admin2');
    const reply = await call(ca, '/admin/revoke', { body: { serial: second.certificate.serialNumber }, identity: identityOf(admin) });
    assert.equal(reply.status, 200, reply.text);
    assertRefused(ca, await call(ca, '/admin/certificates', { identity: identityOf(second) }), 401, 'CERTIFICATE_REVOKED', '/admin/certificates');
  });
});
