// The shared certificate and CSR builder, for every key type, judged by OpenSSL.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fromDer, publicKeyFromSpki, publicKeyInfo, publicKeyOf, rawElements, sequence, toDer } from '../core/der.ts';
import { keyFingerprint256 } from '../core/key-fingerprint.ts';
import { parseSubjectNames } from '../core/names.ts';
import {
  createCsr,
  CsrError,
  describeKey,
  generateKey,
  issueCertificate,
  parseCsr,
  X509Error,
  type Issuer,
  type KeySpec,
  type Profile,
} from '../core/x509.ts';
import { openssl, temporaryDirectory } from './helpers/processes.ts';
import { DAY_MS } from '../pki/certificates.ts';

const notBefore = new Date(Date.now() - 60_000);
const notAfter = new Date(Date.now() + 30 * DAY_MS);

/** What `openssl x509 -text` must print for each key type. */
const KINDS: { spec: KeySpec; name: string; text: RegExp[]; keyUsage: string }[] = [
  {
    spec: { type: 'rsa', rsaBits: 2048 },
    name: 'RSA-2048',
    text: [/Signature Algorithm: sha256WithRSAEncryption/, /Public Key Algorithm: rsaEncryption/, /Public-Key: \(2048 bit\)/],
    keyUsage: 'Digital Signature, Key Encipherment',
  },
  {
    spec: { type: 'ecdsa' },
    name: 'ECDSA P-256',
    text: [/Signature Algorithm: ecdsa-with-SHA256/, /Public Key Algorithm: id-ecPublicKey/, /ASN1 OID: prime256v1/, /NIST CURVE: P-256/],
    keyUsage: 'Digital Signature',
  },
  {
    spec: { type: 'ecdsa', curve: 'P-384' },
    name: 'ECDSA P-384',
    text: [/Signature Algorithm: ecdsa-with-SHA384/, /ASN1 OID: secp384r1/, /NIST CURVE: P-384/],
    keyUsage: 'Digital Signature',
  },
  {
    spec: { type: 'ed25519' },
    name: 'Ed25519',
    text: [/Signature Algorithm: ED25519/, /Public Key Algorithm: ED25519/],
    keyUsage: 'Digital Signature',
  },
];

async function makeCa(spec: KeySpec, commonName = 'selfCA'): Promise<Issuer & { pem: string }> {
  const key = await generateKey(spec);
  const pem = issueCertificate({ profile: 'ca', commonName, names: [], publicKey: key, subjectKey: key, notBefore, notAfter });
  return { certificate: new X509Certificate(pem), key, pem };
}

/** The whole path a leaf takes: its own key, a CSR, the CA's checks, the CA's profile. */
async function makeLeaf(spec: KeySpec, issuer: Issuer, profile: Profile, names = 'server,localhost,127.0.0.1,::1'): Promise<{ pem: string; key: KeyObject; csr: string }> {
  const key = await generateKey(spec);
  const csr = createCsr({ key, commonName: profile, names: parseSubjectNames(names) });
  const request = parseCsr(csr);
  const pem = issueCertificate({ profile, commonName: request.commonName ?? '', names: request.names, publicKey: request.publicKey, issuer, notBefore, notAfter });
  return { pem, key, csr };
}

async function file(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const strictVerify = (ca: string, purpose: string, leaf: string) => openssl('verify', '-x509_strict', '-CAfile', ca, '-purpose', purpose, leaf);

for (const kind of KINDS) {
  describe(`${kind.name}: CA, server and client through CSRs`, () => {
    let dir: string;
    let ca: string;
    let server: string;
    let client: string;
    let csr: string;
    before(async () => {
      dir = await temporaryDirectory('mtls-x509-');
      const issuer = await makeCa(kind.spec);
      const serverLeaf = await makeLeaf(kind.spec, issuer, 'server');
      ca = await file(dir, 'ca.crt', issuer.pem);
      server = await file(dir, 'server.crt', serverLeaf.pem);
      client = await file(dir, 'client.crt', (await makeLeaf(kind.spec, issuer, 'client', 'client')).pem);
      csr = await file(dir, 'server.csr', serverLeaf.csr);
      assert.equal(describeKey(issuer.key), kind.name);
    });

    it('passes openssl verify -x509_strict for its own purpose', async () => {
      for (const [leaf, purpose] of [[server, 'sslserver'], [client, 'sslclient']] as const) {
        const result = await strictVerify(ca, purpose, leaf);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /: OK/);
      }
    });

    it('fails openssl verify for the other purpose (unsuitable certificate purpose)', async () => {
      for (const [leaf, purpose] of [[server, 'sslclient'], [client, 'sslserver']] as const) {
        const result = await strictVerify(ca, purpose, leaf);
        assert.equal(result.code, 2);
        assert.match(result.stdout + result.stderr, /error 26 at 0 depth lookup: unsuitable certificate purpose/);
      }
    });

    it('shows its algorithm (and curve) in openssl x509 -text, and the usages of its profile', async () => {
      for (const pem of [ca, server, client]) {
        const text = (await openssl('x509', '-in', pem, '-noout', '-text')).stdout;
        for (const expected of kind.text) assert.match(text, expected);
      }
      const leafText = (await openssl('x509', '-in', server, '-noout', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage,subjectAltName')).stdout;
      assert.match(leafText, /Basic Constraints: critical\n\s+CA:FALSE/);
      assert.match(leafText, new RegExp(`Key Usage: critical\\n\\s+${kind.keyUsage}\\n`));
      assert.match(leafText, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
      assert.match(leafText, /DNS:server, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
      const caText = (await openssl('x509', '-in', ca, '-noout', '-ext', 'basicConstraints,keyUsage')).stdout;
      assert.match(caText, /CA:TRUE, pathlen:0/);
      assert.match(caText, /Certificate Sign, CRL Sign/);
    });

    it('names its issuer by the CA key identifier OpenSSL computes', async () => {
      const caKeyId = (await openssl('x509', '-in', ca, '-noout', '-ext', 'subjectKeyIdentifier')).stdout.split('\n')[1]?.trim();
      const leafAki = (await openssl('x509', '-in', server, '-noout', '-ext', 'authorityKeyIdentifier')).stdout;
      assert.match(caKeyId ?? '', /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
      assert.ok(leafAki.includes(caKeyId ?? '?'), leafAki);
    });

    it('writes the signature AlgorithmIdentifier RFC 5758 / RFC 8410 / RFC 4055 require', async () => {
      const dump = (await openssl('asn1parse', '-in', server)).stdout.split('\n');
      const algorithm = dump.findIndex((line) => /OBJECT +:(sha256WithRSAEncryption|ecdsa-with-SHA\d+|ED25519)$/.test(line));
      assert.notEqual(algorithm, -1);
      const hasNull = /NULL/.test(dump[algorithm + 1] ?? '');
      assert.equal(hasNull, kind.spec.type === 'rsa', dump.slice(algorithm, algorithm + 2).join('\n'));
    });

    it('writes a CSR that openssl req -verify accepts', async () => {
      const result = await openssl('req', '-in', csr, '-noout', '-verify');
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout + result.stderr, /verify OK/);
    });
  });
}

describe('mixed chains', () => {
  const pairs: [KeySpec, KeySpec, string][] = [
    [{ type: 'rsa' }, { type: 'ecdsa' }, 'an ECDSA leaf under an RSA CA'],
    [{ type: 'ecdsa' }, { type: 'rsa' }, 'an RSA leaf under an ECDSA CA'],
    [{ type: 'ed25519' }, { type: 'ecdsa' }, 'an ECDSA leaf under an Ed25519 CA'],
    [{ type: 'ecdsa', curve: 'P-384' }, { type: 'ed25519' }, 'an Ed25519 leaf under a P-384 CA'],
  ];
  for (const [caSpec, leafSpec, title] of pairs) {
    it(`${title}: signed with the CA's algorithm, verified by openssl and Node`, async () => {
      const dir = await temporaryDirectory('mtls-x509-');
      const ca = await makeCa(caSpec);
      const leaf = await makeLeaf(leafSpec, ca, 'server');
      const result = await strictVerify(await file(dir, 'ca.crt', ca.pem), 'sslserver', await file(dir, 'leaf.crt', leaf.pem));
      assert.equal(result.code, 0, result.stderr);
      const cert = new X509Certificate(leaf.pem);
      assert.equal(cert.checkIssued(ca.certificate) && cert.verify(ca.certificate.publicKey), true);
      assert.equal(describeKey(cert.publicKey), describeKey(leaf.key));
      const text = (await openssl('x509', '-in', join(dir, 'leaf.crt'), '-noout', '-text')).stdout;
      const caText = (await openssl('x509', '-in', join(dir, 'ca.crt'), '-noout', '-text')).stdout;
      assert.equal(/Signature Algorithm: (\S+)/.exec(text)?.[1], /Signature Algorithm: (\S+)/.exec(caText)?.[1]);
    });
  }
});

describe("method2's self-signed certificate", () => {
  for (const spec of [{ type: 'rsa' }, { type: 'ecdsa' }, { type: 'ed25519' }] as KeySpec[]) {
    it(`${spec.type}: is its own trust anchor for both purposes (openssl verify -x509_strict)`, async () => {
      const dir = await temporaryDirectory('mtls-x509-');
      const key = await generateKey(spec);
      const pem = issueCertificate({
        profile: 'self-signed-both', commonName: 'localhost', names: parseSubjectNames('server,localhost,client'),
        publicKey: key, subjectKey: key, notBefore, notAfter,
      });
      const path = await file(dir, 'both.crt', pem);
      for (const purpose of ['sslserver', 'sslclient']) {
        const result = await strictVerify(path, purpose, path);
        assert.equal(result.code, 0, `${purpose}: ${result.stdout}${result.stderr}`);
      }
      const cert = new X509Certificate(pem);
      assert.equal(cert.verify(cert.publicKey), true);
      assert.equal(cert.ca, false);
    });
  }
});

describe('serials and dates', () => {
  it('writes a given serial with its top bit set as a positive INTEGER', async () => {
    const ca = await makeCa({ type: 'ecdsa' });
    const key = await generateKey({ type: 'ecdsa' });
    const serial = Buffer.from('ff00000000000000000000000000aa01', 'hex');
    const pem = issueCertificate({ profile: 'client', commonName: 'client', names: parseSubjectNames('client'), publicKey: key, issuer: ca, notBefore, notAfter, serial });
    assert.equal(new X509Certificate(pem).serialNumber, 'FF00000000000000000000000000AA01');
    const dir = await temporaryDirectory('mtls-x509-');
    const text = (await openssl('x509', '-in', await file(dir, 'c.crt', pem), '-noout', '-text')).stdout;
    assert.match(text, /Serial Number:\n\s+ff:00:00/);
    assert.doesNotMatch(text, /\(Negative\)/);
  });

  it('draws 16 random bytes for the serial, positive, always 16 bytes long', async () => {
    const serials = new Set<string>();
    for (let index = 0; index < 20; index++) serials.add((await makeCa({ type: 'ed25519' })).certificate.serialNumber);
    assert.equal(serials.size, 20);
    for (const serial of serials) assert.match(serial, /^[0-7][0-9A-F]{31}$/);
    assert.ok([...serials].every((serial) => !serial.startsWith('00')));
  });

  it('writes dates from 2050 as GeneralizedTime (RFC 5280), which both Node and openssl read', async () => {
    const key = await generateKey({ type: 'ecdsa' });
    const late = new Date('2051-03-04T05:06:07Z');
    const pem = issueCertificate({ profile: 'ca', commonName: 'longCA', names: [], publicKey: key, subjectKey: key, notBefore, notAfter: late });
    assert.equal(new X509Certificate(pem).validToDate.toISOString(), '2051-03-04T05:06:07.000Z');
    const dir = await temporaryDirectory('mtls-x509-');
    const dump = (await openssl('asn1parse', '-in', await file(dir, 'ca.crt', pem))).stdout;
    assert.match(dump, /GENERALIZEDTIME +:20510304050607Z/);
    assert.match(dump, /UTCTIME/);
  });
});

describe('parseCsr', () => {
  let dir: string;
  before(async () => {
    dir = await temporaryDirectory('mtls-csr-');
  });

  /** A CSR made by the openssl CLI, as an agent without our code would make it. */
  async function opensslCsr(keyArgs: string[], subject = '/CN=agent', san = 'DNS:agent,IP:10.1.2.3,IP:fd00::1'): Promise<string> {
    const out = join(dir, `${Math.random().toString(16).slice(2)}.csr`);
    const result = await openssl('req', '-new', ...keyArgs, '-nodes', '-keyout', join(dir, 'k.pem'), '-subj', subject, '-addext', `subjectAltName=${san}`, '-out', out);
    assert.equal(result.code, 0, result.stderr);
    return readFile(out, 'utf8');
  }

  for (const [keyArgs, description] of [
    [['-newkey', 'rsa:2048'], 'RSA-2048'],
    [['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ECDSA P-256'],
    [['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ECDSA P-384'],
    [['-newkey', 'ed25519'], 'Ed25519'],
  ] as const) {
    it(`reads and verifies an openssl-made ${description} CSR`, async () => {
      const request = parseCsr(await opensslCsr([...keyArgs]));
      assert.equal(request.commonName, 'agent');
      assert.equal(request.subject, 'CN=agent');
      assert.equal(request.keyDescription, description);
      assert.deepEqual(request.names, [{ type: 'dns', value: 'agent' }, { type: 'ip', value: '10.1.2.3' }, { type: 'ip', value: 'fd00::1' }]);
    });
  }

  it('reads a requested URI name (a SPIFFE ID), from openssl and from our own builder', async () => {
    const request = parseCsr(await opensslCsr(['-newkey', 'ed25519'], '/CN=agent', 'URI:spiffe://example.org/ns/a,DNS:agent'));
    assert.deepEqual(request.names, [{ type: 'uri', value: 'spiffe://example.org/ns/a' }, { type: 'dns', value: 'agent' }]);
    const names = [{ type: 'uri', value: 'spiffe://example.org/ns/b' }, { type: 'dns', value: 'agent' }] as const;
    const ours = createCsr({ key: await generateKey({ type: 'ed25519' }), commonName: 'agent', names });
    assert.deepEqual(parseCsr(ours).names, names);
    const file = join(dir, 'ours-uri.csr');
    await writeFile(file, ours);
    assert.match((await openssl('req', '-in', file, '-noout', '-text')).stdout, /URI:spiffe:\/\/example\.org\/ns\/b, DNS:agent/);
  });

  it('reports a subject that is more than one CN', async () => {
    const request = parseCsr(await opensslCsr(['-newkey', 'ed25519'], '/O=Example/CN=agent'));
    assert.equal(request.commonName, undefined);
    assert.equal(request.subject, 'O=Example, CN=agent');
  });

  const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

  /** The CSR's DER with one byte changed at `offsetFromEnd` bytes before the end. */
  function tamper(pem: string, offsetFromEnd: number): string {
    const der = derOf(pem);
    const index = der.length - offsetFromEnd;
    der[index] = (der[index] ?? 0) ^ 0x01;
    return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  }

  for (const spec of [{ type: 'rsa' }, { type: 'ecdsa' }, { type: 'ed25519' }] as KeySpec[]) {
    it(`${spec.type}: refuses a CSR whose signature was altered (code ECSR)`, async () => {
      const csr = createCsr({ key: await generateKey(spec), commonName: 'client', names: parseSubjectNames('client') });
      // Ed25519 and RSA signatures end the DER; an ECDSA signature ends with its S integer.
      assert.throws(() => parseCsr(tamper(csr, 1)), (error: unknown) => error instanceof CsrError && error.code === 'ECSR' && /the CSR signature does not verify with its own key/.test(error.message));
    });
  }

  it('refuses a CSR whose requested names were changed after signing (the signature covers them)', async () => {
    const csr = createCsr({ key: await generateKey({ type: 'ecdsa' }), commonName: 'client', names: parseSubjectNames('clienta') });
    const der = derOf(csr);
    const at = der.indexOf('clienta');
    der.write('clientb', at, 'latin1');
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => parseCsr(forged), /the CSR signature does not verify with its own key/);
  });

  it("refuses a CSR signed by another key than the one it carries (no proof of possession)", async () => {
    const victim = await generateKey({ type: 'ecdsa' });
    const attacker = await generateKey({ type: 'ecdsa' });
    const honest = createCsr({ key: victim, commonName: 'client', names: parseSubjectNames('client') });
    const theirs = createCsr({ key: attacker, commonName: 'client', names: parseSubjectNames('client') });
    // The attacker's algorithm and signature, glued to the victim's info (its key, its names).
    const [victimInfo] = rawElements(derOf(honest));
    const [, algorithm, signature] = rawElements(derOf(theirs));
    const glued = toDer(sequence([fromDer(victimInfo as Buffer), fromDer(algorithm as Buffer), fromDer(signature as Buffer)]));
    assert.throws(() => parseCsr(`-----BEGIN CERTIFICATE REQUEST-----\n${glued.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`), /the CSR signature does not verify with its own key/);
  });

  it('refuses an RSA key under 2048 bits', async () => {
    assert.throws(() => parseCsr(openssl1024), /its key is refused: an RSA key of 1024 bits is not accepted \(2048 to 8192 bits\)/);
  });
  let openssl1024: string;
  before(async () => {
    openssl1024 = await opensslCsr(['-newkey', 'rsa:1024']);
  });

  it('refuses key types outside RSA, ECDSA P-256/P-384 and Ed25519 (Ed448, P-521)', async () => {
    assert.throws(() => parseCsr(ed448), /its key is refused: a key of type ed448 is not accepted/);
    assert.throws(() => parseCsr(p521), /its key is refused: an EC key on curve secp521r1 is not accepted \(P-256 or P-384\)/);
  });
  let ed448: string;
  let p521: string;
  before(async () => {
    ed448 = await opensslCsr(['-newkey', 'ed448']);
    p521 = await opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521']);
  });

  it('refuses a weak signature digest (SHA-1), even when it verifies', async () => {
    const sha1 = await opensslCsr(['-newkey', 'rsa:2048', '-sha1']);
    assert.throws(() => parseCsr(sha1), /its signature algorithm 1\.2\.840\.113549\.1\.1\.5 is not accepted/);
  });

  it('refuses text that is not a PEM CSR, and DER that is not a CSR, in one line', async () => {
    assert.throws(() => parseCsr('hello'), (error: unknown) => error instanceof CsrError && error.message === 'not a PEM certificate request (no "BEGIN CERTIFICATE REQUEST" block)');
    const notDer = '-----BEGIN CERTIFICATE REQUEST-----\nAAEC\n-----END CERTIFICATE REQUEST-----\n';
    assert.throws(() => parseCsr(notDer), (error: unknown) => error instanceof CsrError && /^not a valid certificate request \(malformed DER/.test(error.message) && !error.message.includes('\n'));
  });
});

describe('public keys read from SubjectPublicKeyInfo', () => {
  for (const kind of KINDS) {
    it(`${kind.name}: keeps exactly the bytes node:crypto writes for the key`, async () => {
      const der = publicKeyOf(await generateKey(kind.spec)).export({ type: 'spki', format: 'der' });
      const read = publicKeyFromSpki(der);
      assert.deepEqual(publicKeyInfo(read).der, der);
      assert.deepEqual(read.export({ type: 'spki', format: 'der' }), der);
      assert.equal(keyFingerprint256(read), keyFingerprint256(createPublicKey({ key: der, format: 'der', type: 'spki' })));
    });
  }

  for (const curve of ['P-256', 'P-384'] as const) {
    it(`${curve}: a point sent compressed is the same key, with the same bytes and fingerprint as sent uncompressed`, async () => {
      const dir = await temporaryDirectory('mtls-x509-compressed-');
      const key = await generateKey({ type: 'ecdsa', curve });
      const uncompressed = publicKeyOf(key).export({ type: 'spki', format: 'der' });
      await writeFile(join(dir, 'key.pem'), key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      await openssl('ec', '-in', join(dir, 'key.pem'), '-pubout', '-conv_form', 'compressed', '-outform', 'DER', '-out', join(dir, 'compressed.der'));
      const compressed = await readFile(join(dir, 'compressed.der'));
      assert.ok(compressed.length < uncompressed.length, 'openssl wrote the point compressed');
      const read = publicKeyFromSpki(compressed);
      assert.deepEqual(publicKeyInfo(read).der, uncompressed);
      assert.equal(keyFingerprint256(read), keyFingerprint256(key));
    });
  }
});

describe("the issuer's details, read once per CA certificate", () => {
  it('never names another CA: two CAs with the same subject and different keys each sign as themselves (Node and openssl verify)', async () => {
    const dir = await temporaryDirectory('mtls-x509-issuers-');
    const first = await makeCa({ type: 'ecdsa' }, 'same CA name');
    const second = await makeCa({ type: 'ecdsa' }, 'same CA name');
    assert.equal(first.certificate.subject, second.certificate.subject);
    // Interleaved, so that each CA signs while the other's details are already read.
    for (const [issuer, other] of [[first, second], [second, first], [first, second]] as const) {
      const leaf = new X509Certificate((await makeLeaf({ type: 'ecdsa' }, issuer, 'client', 'client')).pem);
      assert.equal(leaf.checkIssued(issuer.certificate) && leaf.verify(issuer.certificate.publicKey), true);
      // Same issuer name: only the authority key identifier tells the CAs apart, and it must be this CA's.
      assert.equal(leaf.checkIssued(other.certificate), false);
      const caFile = await file(dir, 'ca.crt', issuer.pem);
      const otherFile = await file(dir, 'other.crt', other.pem);
      const leafFile = await file(dir, 'leaf.crt', leaf.toString());
      assert.equal((await strictVerify(caFile, 'sslclient', leafFile)).code, 0);
      const wrong = await strictVerify(otherFile, 'sslclient', leafFile);
      assert.equal(wrong.code, 2);
      assert.match(wrong.stdout + wrong.stderr, /unable to get local issuer certificate|certificate signature failure/);
    }
  });

  it("still refuses a key that does not belong to a CA certificate it has already signed with", async () => {
    const ca = await makeCa({ type: 'ecdsa' });
    const publicKey = await generateKey({ type: 'ecdsa' });
    const sign = (issuer: Issuer) => issueCertificate({ profile: 'client', commonName: 'client', names: parseSubjectNames('client'), publicKey, issuer, notBefore, notAfter });
    assert.equal(new X509Certificate(sign(ca)).checkIssued(ca.certificate), true);
    const wrong = { certificate: ca.certificate, key: await generateKey({ type: 'ecdsa' }) };
    assert.throws(() => sign(wrong), (error: unknown) => error instanceof X509Error && /the issuer's key does not match its certificate/.test(error.message));
    // The right key still signs afterwards.
    assert.equal(new X509Certificate(sign(ca)).checkIssued(ca.certificate), true);
  });
});

describe('issueCertificate refuses what would make a broken or unsafe certificate', () => {
  let ca: Issuer;
  let key: KeyObject;
  before(async () => {
    ca = await makeCa({ type: 'ecdsa' });
    key = await generateKey({ type: 'ecdsa' });
  });
  const names = parseSubjectNames('client');
  const refused = (message: RegExp) => (error: unknown) => error instanceof X509Error && error.code === 'EX509' && message.test(error.message);

  it('a CA key that does not belong to the CA certificate', async () => {
    const wrong = { certificate: ca.certificate, key: await generateKey({ type: 'ecdsa' }) };
    assert.throws(() => issueCertificate({ profile: 'client', commonName: 'client', names, publicKey: key, issuer: wrong, notBefore, notAfter }), refused(/the issuer's key does not match its certificate/));
  });

  it('an issuer that is not a CA (a leaf signing leaves)', async () => {
    const leaf = await makeLeaf({ type: 'ecdsa' }, ca, 'client', 'client');
    const issuer = { certificate: new X509Certificate(leaf.pem), key: leaf.key };
    assert.throws(() => issueCertificate({ profile: 'client', commonName: 'x', names, publicKey: key, issuer, notBefore, notAfter }), refused(/the issuer CN=client is not a CA certificate/));
  });

  it('a self-signed certificate whose signing key is not its own', async () => {
    const other = await generateKey({ type: 'ecdsa' });
    assert.throws(() => issueCertificate({ profile: 'ca', commonName: 'CA', names: [], publicKey: key, subjectKey: other, notBefore, notAfter }), refused(/subjectKey is not the private key of publicKey/));
  });

  it('a leaf without an issuer, a CA with an issuer, a leaf without names, an empty validity', () => {
    assert.throws(() => issueCertificate({ profile: 'server', commonName: 's', names, publicKey: key, subjectKey: key, notBefore, notAfter }), refused(/a server certificate needs an issuer/));
    assert.throws(() => issueCertificate({ profile: 'ca', commonName: 'sub', names: [], publicKey: key, issuer: ca, notBefore, notAfter }), refused(/a ca certificate is self-signed here; it takes no issuer/));
    assert.throws(() => issueCertificate({ profile: 'client', commonName: 'c', names: [], publicKey: key, issuer: ca, notBefore, notAfter }), refused(/a client certificate needs at least one name/));
    assert.throws(() => issueCertificate({ profile: 'client', commonName: 'c', names, publicKey: key, issuer: ca, notBefore: notAfter, notAfter: notBefore }), refused(/is not before notAfter/));
  });

  it('keys we do not certify (RSA-1024, Ed448)', async () => {
    const small = createPrivateKey((await openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024')).stdout);
    const ed448 = createPrivateKey((await openssl('genpkey', '-algorithm', 'ED448')).stdout);
    assert.throws(() => issueCertificate({ profile: 'client', commonName: 'c', names, publicKey: small, issuer: ca, notBefore, notAfter }), /an RSA key of 1024 bits is not accepted/);
    assert.throws(() => issueCertificate({ profile: 'client', commonName: 'c', names, publicKey: ed448, issuer: ca, notBefore, notAfter }), /a key of type ed448 is not accepted/);
  });
});
