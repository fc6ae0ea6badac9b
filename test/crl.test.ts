// CRLs from the shared builder, judged by OpenSSL (the CLI and Node's TLS).
import assert from 'node:assert/strict';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import tls from 'node:tls';
import { normalizeSerial } from '../core/certificate.ts';
import { CrlError, issueCrl, parseCrl, type RevokedCertificate } from '../core/crl.ts';
import { parseSubjectNames } from '../core/names.ts';
import { generateKey, issueCertificate, type Issuer, type KeySpec, type Profile } from '../core/x509.ts';
import { openssl, temporaryDirectory } from './helpers/processes.ts';

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const now = Date.now();
const validity = { notBefore: new Date(now - MINUTE), notAfter: new Date(now + DAY) };
const fresh = { thisUpdate: new Date(now - MINUTE), nextUpdate: new Date(now + 10 * MINUTE) };

type Pem = { pem: string; key: KeyObject; certificate: X509Certificate };

async function makeCa(spec: KeySpec, commonName = 'selfCA'): Promise<Pem> {
  const key = await generateKey(spec);
  const pem = issueCertificate({ profile: 'ca', commonName, names: [], publicKey: key, subjectKey: key, ...validity });
  return { pem, key, certificate: new X509Certificate(pem) };
}

async function makeLeaf(issuer: Issuer, profile: Profile, name: string): Promise<Pem> {
  const key = await generateKey({ type: 'ecdsa' });
  const pem = issueCertificate({ profile, commonName: name, names: parseSubjectNames(name), publicKey: key, issuer, ...validity });
  return { pem, key, certificate: new X509Certificate(pem) };
}

const pemOf = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;

const revoke = (leaf: Pem, reason: RevokedCertificate['reason'] = 'keyCompromise'): RevokedCertificate => ({
  serialNumber: leaf.certificate.serialNumber,
  revokedAt: new Date(now - MINUTE),
  reason,
});

for (const spec of [{ type: 'rsa' }, { type: 'ecdsa' }, { type: 'ed25519' }] as KeySpec[]) {
  describe(`a CRL signed by a ${spec.type} CA`, () => {
    let dir: string;
    let ca: Pem;
    let revoked: Pem;
    let good: Pem;
    let crlPem: string;
    const path = (name: string) => join(dir, name);
    before(async () => {
      dir = await temporaryDirectory('mtls-crl-');
      ca = await makeCa(spec);
      revoked = await makeLeaf(ca, 'client', 'client');
      good = await makeLeaf(ca, 'client', 'other');
      crlPem = issueCrl({ issuer: ca, number: 7n, ...fresh, revoked: [revoke(revoked)] });
      for (const [name, text] of [['ca.crt', ca.pem], ['revoked.crt', revoked.pem], ['good.crt', good.pem], ['crl.pem', crlPem]]) {
        await writeFile(path(name as string), text as string);
      }
    });

    it('verifies with openssl crl -verify against its CA', async () => {
      const result = await openssl('crl', '-in', path('crl.pem'), '-CAfile', path('ca.crt'), '-noout', '-verify');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr + result.stdout, /verify OK/);
    });

    it('carries the CRL number, the authority key identifier, both dates and the reason, as openssl crl -text reads them', async () => {
      const text = (await openssl('crl', '-in', path('crl.pem'), '-noout', '-text')).stdout;
      const caKeyId = (await openssl('x509', '-in', path('ca.crt'), '-noout', '-ext', 'subjectKeyIdentifier')).stdout.split('\n')[1]?.trim() ?? '?';
      assert.match(text, /Version 2 \(0x1\)/);
      assert.match(text, /X509v3 CRL Number: \n\s+7\n/);
      assert.ok(text.includes(caKeyId), `authorityKeyIdentifier ${caKeyId} missing:\n${text}`);
      assert.match(text, /Next Update: /);
      assert.match(text, new RegExp(`Serial Number: ${revoked.certificate.serialNumber}`, 'i'));
      assert.match(text, /X509v3 CRL Reason Code: \n\s+Key Compromise/);
      assert.equal(text.match(/Serial Number:/g)?.length, 1);
    });

    it('makes openssl verify -crl_check refuse the revoked certificate and pass the other', async () => {
      const check = (leaf: string) => openssl('verify', '-crl_check', '-CRLfile', path('crl.pem'), '-CAfile', path('ca.crt'), leaf);
      const bad = await check(path('revoked.crt'));
      assert.equal(bad.code, 2);
      assert.match(bad.stdout + bad.stderr, /error 23 at 0 depth lookup: certificate revoked/);
      const ok = await check(path('good.crt'));
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    });

    it('reads back: number, dates, revoked serials, and who signed it', async () => {
      const parsed = parseCrl(crlPem);
      assert.equal(parsed.number, 7n);
      assert.equal(parsed.nextUpdate?.getTime(), Math.floor(fresh.nextUpdate.getTime() / 1000) * 1000);
      assert.equal(parsed.thisUpdate.getTime(), Math.floor(fresh.thisUpdate.getTime() / 1000) * 1000);
      assert.ok(parsed.revokedSerials.has(normalizeSerial(revoked.certificate.serialNumber)));
      assert.ok(!parsed.revokedSerials.has(normalizeSerial(good.certificate.serialNumber)));
      assert.equal(parsed.isSignedBy(ca.certificate), true);
      const stranger = await makeCa(spec, 'selfCA');
      assert.equal(parsed.isSignedBy(stranger.certificate), false, 'same name, another key: not its signer');
    });
  });
}

describe('CRL edge cases', () => {
  let ca: Pem;
  before(async () => {
    ca = await makeCa({ type: 'ecdsa' });
  });

  it('an empty CRL omits the revoked list, and openssl accepts it', async () => {
    const dir = await temporaryDirectory('mtls-crl-');
    const pem = issueCrl({ issuer: ca, number: 1n, ...fresh, revoked: [] });
    await writeFile(join(dir, 'crl.pem'), pem);
    await writeFile(join(dir, 'ca.crt'), ca.pem);
    const result = await openssl('crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'ca.crt'), '-noout', '-text', '-verify');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /No Revoked Certificates/);
    assert.equal(parseCrl(pem).revokedSerials.size, 0);
  });

  it('uses the one PEM label Node and OpenSSL accept', () => {
    assert.match(issueCrl({ issuer: ca, number: 1n, ...fresh, revoked: [] }), /^-----BEGIN X509 CRL-----\n/);
  });

  it('refuses to sign with a leaf, with a key that is not the CA\'s, or with dates out of order', async () => {
    const leaf = await makeLeaf(ca, 'server', 'server');
    const other = await generateKey({ type: 'ecdsa' });
    assert.throws(() => issueCrl({ issuer: leaf, number: 1n, ...fresh, revoked: [] }), { code: 'ECRL', message: /is not a CA/ });
    assert.throws(() => issueCrl({ issuer: { certificate: ca.certificate, key: other }, number: 1n, ...fresh, revoked: [] }), {
      code: 'ECRL',
      message: /key does not match/,
    });
    assert.throws(() => issueCrl({ issuer: ca, number: 1n, thisUpdate: fresh.nextUpdate, nextUpdate: fresh.thisUpdate, revoked: [] }), {
      code: 'ECRL',
      message: /thisUpdate must be before nextUpdate/,
    });
  });

  it('refuses to read what is not a PEM CRL: no PEM, the wrong label, broken DER', () => {
    const good = issueCrl({ issuer: ca, number: 1n, ...fresh, revoked: [] });
    assert.throws(() => parseCrl('hello'), { code: 'ECRL', message: /not a PEM CRL/ });
    assert.throws(() => parseCrl(good.replaceAll('X509 CRL', 'CRL')), CrlError);
    assert.throws(() => parseCrl('-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n'), { code: 'ECRL', message: /not a valid CRL/ });
  });

  it('spells serials one way, whoever printed them', () => {
    assert.equal(normalizeSerial('00ab12'), 'AB12');
    assert.equal(normalizeSerial('AB12'), 'AB12');
  });
});

describe("Node's TLS with our CRL", () => {
  let ca: Pem;
  let server: Pem;
  let revoked: Pem;
  let good: Pem;
  before(async () => {
    ca = await makeCa({ type: 'ecdsa' });
    server = await makeLeaf(ca, 'server', 'localhost');
    revoked = await makeLeaf(ca, 'client', 'client');
    good = await makeLeaf(ca, 'client', 'other');
  });

  /** One handshake against a server holding `crl`; the server's verdict on the client. */
  async function handshake(crl: string, client: Pem): Promise<string | null> {
    const listener = tls.createServer({ cert: server.pem, key: pemOf(server.key), ca: ca.pem, crl, requestCert: true, rejectUnauthorized: false });
    const verdict = new Promise<string | null>((resolve) =>
      listener.once('secureConnection', (socket) => {
        const error = socket.authorizationError as unknown as string | Error | null;
        resolve(socket.authorized ? null : typeof error === 'string' ? error : ((error as NodeJS.ErrnoException | null)?.code ?? String(error)));
        socket.end();
      }),
    );
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const socket = tls.connect({ port: (listener.address() as AddressInfo).port, host: '127.0.0.1', servername: 'localhost', ca: ca.pem, cert: client.pem, key: pemOf(client.key) });
    socket.on('error', () => {});
    try {
      return await verdict;
    } finally {
      socket.destroy();
      listener.close();
    }
  }

  it('refuses the revoked client (CERT_REVOKED) and lets the other in', async () => {
    const crl = issueCrl({ issuer: ca, number: 2n, ...fresh, revoked: [revoke(revoked)] });
    assert.equal(await handshake(crl, revoked), 'CERT_REVOKED');
    assert.equal(await handshake(crl, good), null);
  });

  it('fails closed once the CRL is past nextUpdate: every client is refused (CRL_HAS_EXPIRED)', async () => {
    const stale = issueCrl({ issuer: ca, number: 3n, thisUpdate: new Date(now - 20 * MINUTE), nextUpdate: new Date(now - 10 * MINUTE), revoked: [] });
    assert.equal(await handshake(stale, good), 'CRL_HAS_EXPIRED');
  });
});
