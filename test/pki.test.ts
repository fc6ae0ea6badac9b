import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, chown, mkdir, rm, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';
import tls from 'node:tls';
import { DAY_MS } from '../pki/certificates.ts';
import { runPki } from '../pki/issue.ts';
import { parsePkiArgs, parsePkiOptions, resolvePkiOptions, UsageError } from '../pki/options.ts';
import { parseSubjectNames } from '../core/names.ts';
import { openssl, runPkiCommand, runPkiCommandUnprivileged, temporaryDirectory, UNPRIVILEGED } from './helpers/processes.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

async function cert(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

/** Every file under dir with its content, to prove a refused run wrote nothing. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(path, await readFile(path, 'utf8'));
    }
  }
  return files;
}

/** A real mutual handshake on loopback with node:tls, using the files exactly as issued. */
async function handshake(
  out: string,
  servername: string,
  maxVersion: tls.SecureVersion = 'TLSv1.3',
): Promise<{ clientSawServer: string; serverSawClient: string; protocol: string | null }> {
  const read = (identity: string, file: string) => readFile(join(out, identity, file));
  const server = tls.createServer({
    cert: await read('server', 'tls.crt'),
    key: await read('server', 'tls.key'),
    ca: await read('server', 'ca.crt'),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const serverSawClient = new Promise<string>((resolve) =>
    server.on('secureConnection', (socket) => {
      resolve(socket.getPeerX509Certificate()?.subject ?? 'none');
      socket.end();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      cert: await read('client', 'tls.crt'),
      key: await read('client', 'tls.key'),
      ca: await read('client', 'ca.crt'),
      maxVersion,
    });
    const clientSawServer = await new Promise<string>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(socket.getPeerX509Certificate()?.subject ?? 'none'));
      socket.once('error', reject);
    });
    // In TLS 1.3 the client finishes first: wait for the server's verdict before closing.
    const serverVerdict = await serverSawClient;
    const protocol = socket.getProtocol();
    socket.destroy();
    return { clientSawServer, serverSawClient: serverVerdict, protocol };
  } finally {
    server.close();
  }
}

describe('pki method1: a private CA signs a server and a client certificate', () => {
  let out: string;
  let firstRun: string;
  before(async () => {
    out = join(await temporaryDirectory(), 'out');
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    firstRun = result.stdout;
  });

  it('writes one folder per identity, the CA key only in ca/', async () => {
    assert.deepEqual((await readdir(join(out, 'ca'))).sort(), ['ca.crt', 'ca.key']);
    assert.deepEqual((await readdir(join(out, 'server'))).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.deepEqual((await readdir(join(out, 'client'))).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const ca = await readFile(join(out, 'ca', 'ca.crt'), 'utf8');
    assert.equal(await readFile(join(out, 'server', 'ca.crt'), 'utf8'), ca);
    assert.equal(await readFile(join(out, 'client', 'ca.crt'), 'utf8'), ca);
  });

  it('writes keys 0600, certificates 0644, the CA folder 0700', async () => {
    const mode = async (...path: string[]) => (await stat(join(out, ...path))).mode & 0o777;
    assert.equal(await mode('ca'), 0o700);
    assert.equal(await mode('ca', 'ca.key'), 0o600);
    assert.equal(await mode('ca', 'ca.crt'), 0o644);
    for (const identity of ['server', 'client']) {
      assert.equal(await mode(identity, 'tls.key'), 0o600);
      assert.equal(await mode(identity, 'tls.crt'), 0o644);
      assert.equal(await mode(identity, 'ca.crt'), 0o644);
    }
  });

  it('issues a CA that Node and OpenSSL see as a pathLen-0 CA with keyCertSign and cRLSign', async () => {
    const ca = await cert(join(out, 'ca', 'ca.crt'));
    assert.equal(ca.ca, true);
    assert.equal(ca.subject.trim(), 'CN=selfCA');
    assert.equal(ca.checkIssued(ca), true);
    const text = (await openssl('x509', '-in', join(out, 'ca', 'ca.crt'), '-noout', '-text')).stdout;
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /X509v3 Subject Key Identifier/);
    const days = (ca.validToDate.getTime() - Date.now()) / DAY_MS;
    assert.ok(days > 364 && days <= 365, `CA valid for ${days} days`);
  });

  it('issues a server certificate: serverAuth only, with the SANs, signed by the CA', async () => {
    const ca = await cert(join(out, 'ca', 'ca.crt'));
    const server = await cert(join(out, 'server', 'tls.crt'));
    assert.equal(server.subject.trim(), 'CN=server');
    assert.equal(server.ca, false);
    assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
    assert.equal(server.checkIssued(ca), true);
    assert.equal(server.verify(ca.publicKey), true);
    assert.equal(server.checkHost('server'), 'server');
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('::1'), '::1');
    assert.equal(server.checkHost('client'), undefined);
    assert.ok(server.validToDate <= ca.validToDate, 'the leaf must not outlast its CA');
    const key = createPrivateKey(await readFile(join(out, 'server', 'tls.key')));
    assert.equal(server.checkPrivateKey(key), true);
  });

  it('issues a client certificate: clientAuth only, DNS:client, signed by the CA', async () => {
    const ca = await cert(join(out, 'ca', 'ca.crt'));
    const client = await cert(join(out, 'client', 'tls.crt'));
    assert.equal(client.subject.trim(), 'CN=client');
    assert.deepEqual(client.keyUsage, [CLIENT_AUTH]);
    assert.equal(client.subjectAltName, 'DNS:client');
    assert.equal(client.checkIssued(ca), true);
    assert.equal(client.verify(ca.publicKey), true);
    assert.equal(client.checkPrivateKey(createPrivateKey(await readFile(join(out, 'client', 'tls.key')))), true);
  });

  it('passes openssl verify for the right purpose and fails it for the wrong one', async () => {
    const caFile = join(out, 'ca', 'ca.crt');
    const verify = (purpose: string, identity: string) =>
      openssl('verify', '-CAfile', caFile, '-purpose', purpose, join(out, identity, 'tls.crt'));
    assert.equal((await verify('sslserver', 'server')).code, 0);
    assert.equal((await verify('sslclient', 'client')).code, 0);
    const clientAsServer = await verify('sslserver', 'client');
    assert.notEqual(clientAsServer.code, 0);
    assert.match(clientAsServer.stdout + clientAsServer.stderr, /unsuitable certificate purpose/);
    const serverAsClient = await verify('sslclient', 'server');
    assert.notEqual(serverAsClient.code, 0);
    assert.match(serverAsClient.stdout + serverAsClient.stderr, /unsuitable certificate purpose/);
  });

  it('gives leaves CA:FALSE, digitalSignature+keyEncipherment, and an AKI equal to the CA SKI', async () => {
    const caText = (await openssl('x509', '-in', join(out, 'ca', 'ca.crt'), '-noout', '-ext', 'subjectKeyIdentifier')).stdout;
    const caSki = caText.split('\n')[1]?.trim();
    assert.match(caSki ?? '', /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    for (const identity of ['server', 'client']) {
      const file = join(out, identity, 'tls.crt');
      const ext = (await openssl('x509', '-in', file, '-noout', '-ext', 'basicConstraints,keyUsage,authorityKeyIdentifier')).stdout;
      assert.match(ext, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(ext, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
      assert.ok(ext.includes(caSki as string), `${identity} AKI should be the CA's SKI`);
      const serial = (await openssl('x509', '-in', file, '-noout', '-serial')).stdout.trim().replace('serial=', '');
      assert.match(serial, /^[0-7][0-9A-F]{31}$/, 'a positive 16-byte serial');
    }
  });

  it('says what it issued in readable lines', () => {
    assert.match(firstRun, /ca +issued +\(no CA yet\)/);
    assert.match(firstRun, /server +issued/);
    assert.match(firstRun, /DNS:server, DNS:localhost, IP:127\.0\.0\.1, IP:::1 · EKU serverAuth/);
    assert.match(firstRun, /SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.match(firstRun, /3 issued, 0 kept\./);
  });

  it('completes a real mutual TLS handshake on loopback with the issued files', async () => {
    const seen = await handshake(out, 'localhost');
    assert.equal(seen.clientSawServer.trim(), 'CN=server');
    assert.equal(seen.serverSawClient.trim(), 'CN=client');
  });
});

describe('pki method2: one self-signed certificate shared by both sides', () => {
  let out: string;
  before(async () => {
    out = join(await temporaryDirectory(), 'out');
    const result = await runPkiCommand('--method', 'method2', '--out', out);
    assert.equal(result.code, 0, result.stderr);
  });

  it('writes the same certificate and key to both sides, each trusting exactly it', async () => {
    const shared = await readFile(join(out, 'server', 'tls.crt'), 'utf8');
    for (const identity of ['server', 'client']) {
      assert.equal(await readFile(join(out, identity, 'tls.crt'), 'utf8'), shared);
      assert.equal(await readFile(join(out, identity, 'ca.crt'), 'utf8'), shared);
    }
    assert.equal(await readFile(join(out, 'client', 'tls.key'), 'utf8'), await readFile(join(out, 'server', 'tls.key'), 'utf8'));
    await assert.rejects(stat(join(out, 'ca')), { code: 'ENOENT' });
  });

  it('is self-signed, CN=localhost, with both EKUs and both sides\' names', async () => {
    const shared = await cert(join(out, 'server', 'tls.crt'));
    assert.equal(shared.subject, shared.issuer);
    assert.equal(shared.subject.trim(), 'CN=localhost');
    assert.equal(shared.verify(shared.publicKey), true);
    assert.deepEqual(shared.keyUsage?.sort(), [SERVER_AUTH, CLIENT_AUTH].sort());
    for (const host of ['server', 'localhost', 'client']) assert.equal(shared.checkHost(host), host);
    assert.equal(shared.checkIP('127.0.0.1'), '127.0.0.1');
    const file = join(out, 'server', 'tls.crt');
    assert.equal((await openssl('verify', '-CAfile', file, '-purpose', 'sslserver', file)).code, 0);
    assert.equal((await openssl('verify', '-CAfile', file, '-purpose', 'sslclient', file)).code, 0);
  });

  it('completes a real mutual TLS handshake on loopback', async () => {
    const seen = await handshake(out, 'server');
    assert.equal(seen.clientSawServer.trim(), 'CN=localhost');
    assert.equal(seen.serverSawClient.trim(), 'CN=localhost');
  });

  it('reruns without changing anything', async () => {
    const before = await snapshot(out);
    const result = await runPkiCommand('--method', 'method2', '--out', out);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Nothing changed/);
    assert.deepEqual(await snapshot(out), before);
  });
});

describe('pki --with-demo-identities: the failure demo material, on request only', () => {
  let out: string;
  let firstRun: string;
  const verify = (caFile: string, file: string, purpose = 'sslclient') => openssl('verify', '-CAfile', caFile, '-purpose', purpose, file);
  before(async () => {
    out = join(await temporaryDirectory(), 'out');
    const result = await runPkiCommand('--method', 'method1', '--out', out, '--with-demo-identities');
    assert.equal(result.code, 0, result.stderr);
    firstRun = result.stdout;
  });

  it('is off by default', async () => {
    const plain = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', plain);
    assert.deepEqual((await readdir(plain)).sort(), ['ca', 'client', 'server']);
  });

  it('writes one folder per scenario, each with only its own material and never a CA key', async () => {
    const caKey = await readFile(join(out, 'ca', 'ca.key'), 'utf8');
    const folders = (await readdir(out)).filter((name) => name.startsWith('demo-')).sort();
    assert.deepEqual(folders, ['demo-expired', 'demo-no-cert', 'demo-not-allowed', 'demo-revoked', 'demo-rogue-ca', 'demo-untrusted-server', 'demo-wrong-name', 'demo-wrong-usage']);
    for (const folder of folders) {
      const files = (await readdir(join(out, folder))).sort();
      assert.deepEqual(files, folder === 'demo-no-cert' ? ['ca.crt'] : ['ca.crt', 'tls.crt', 'tls.key'], folder);
      for (const file of files) assert.notEqual(await readFile(join(out, folder, file), 'utf8'), caKey);
    }
    assert.notEqual(await readFile(join(out, 'demo-wrong-usage', 'tls.key'), 'utf8'), await readFile(join(out, 'server', 'tls.key'), 'utf8'), 'the real server key stays in server/');
    // No demo folder holds a working identity of the real server or client.
    const ca = join(out, 'ca', 'ca.crt');
    for (const folder of folders.filter((name) => name !== 'demo-no-cert')) {
      const file = join(out, folder, 'tls.crt');
      const asServer = await openssl('verify', '-CAfile', ca, '-purpose', 'sslserver', '-verify_hostname', 'server', file);
      assert.notEqual(asServer.code, 0, `${folder} must not pass as the server`);
      const certificate = await cert(file);
      const validClient = (await openssl('verify', '-CAfile', ca, '-purpose', 'sslclient', file)).code === 0;
      if (validClient) assert.equal(certificate.checkHost('client'), undefined, `${folder} is valid, so it must not be named client`);
    }
  });

  it('issues material that fails exactly as each scenario says (openssl as the oracle)', async () => {
    const ca = join(out, 'ca', 'ca.crt');
    const demo = (scenario: string, file = 'tls.crt') => join(out, `demo-${scenario}`, file);
    const rogue = await verify(ca, demo('rogue-ca'));
    assert.notEqual(rogue.code, 0);
    assert.match(rogue.stdout + rogue.stderr, /certificate signature failure|unable to get local issuer/);
    assert.equal((await cert(demo('rogue-ca'))).issuer, (await cert(ca)).subject, 'same issuer name as our CA');
    const expired = await verify(ca, demo('expired'));
    assert.match(expired.stdout + expired.stderr, /certificate has expired/);
    const wrongUsage = await verify(ca, demo('wrong-usage'));
    assert.match(wrongUsage.stdout + wrongUsage.stderr, /unsuitable certificate purpose/);
    assert.equal((await verify(ca, demo('not-allowed'))).code, 0);
    assert.equal((await cert(demo('not-allowed'))).subject.trim(), 'CN=intruder');
    assert.equal((await verify(ca, demo('wrong-name'))).code, 0);
    assert.equal((await verify(ca, demo('untrusted-server'))).code, 0, 'the server would accept this client');
    const serverSeenByIt = await verify(demo('untrusted-server', 'ca.crt'), join(out, 'server', 'tls.crt'), 'sslserver');
    assert.notEqual(serverSeenByIt.code, 0, 'but it does not trust the server');
    assert.equal(await readFile(demo('no-cert', 'ca.crt'), 'utf8'), await readFile(ca, 'utf8'));
  });

  it('reports them apart from the real identities, and keeps them on a rerun', async () => {
    assert.match(firstRun, /demo-expired +issued +\(new CA; signed by our CA, expired yesterday\)/);
    assert.match(firstRun, /demo-no-cert +issued +\(new CA; trusts the CA, presents nothing\)/);
    const before = await snapshot(out);
    const again = await runPkiCommand('--method', 'method1', '--out', out, '--with-demo-identities');
    assert.match(again.stdout, /Nothing changed/);
    assert.deepEqual(await snapshot(out), before);
  });

  it('is refused with method2', async () => {
    const dir = await temporaryDirectory();
    const result = await runPkiCommand('--method', 'method2', '--out', join(dir, 'out'), '--with-demo-identities');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^pki: --with-demo-identities needs --method method1/);
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('pki reruns: the CA is kept, only stale leaves are re-issued', () => {
  it('keeps every file on a rerun with the same options, and says so', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out);
    const before = await snapshot(out);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Nothing changed: every certificate is valid and current\./);
    assert.deepEqual(await snapshot(out), before);
  });

  it('re-issues only a missing leaf; the CA and the other leaf stay', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out);
    const before = await snapshot(out);
    await writeFile(join(out, 'client', 'tls.crt'), 'garbage');
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /client +issued +\(tls\.crt not PEM/);
    assert.match(result.stdout, /server +kept/);
    const after = await snapshot(out);
    for (const file of ['ca/ca.crt', 'ca/ca.key', 'server/tls.crt', 'server/tls.key']) {
      assert.equal(after.get(join(out, file)), before.get(join(out, file)), file);
    }
    const ca = await cert(join(out, 'ca', 'ca.crt'));
    assert.equal((await cert(join(out, 'client', 'tls.crt'))).checkIssued(ca), true);
  });

  it('re-issues a leaf whose key does not match, or whose names changed', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out);
    await writeFile(join(out, 'server', 'tls.key'), await readFile(join(out, 'client', 'tls.key')));
    const mismatch = await runPkiCommand('--method', 'method1', '--out', out);
    assert.match(mismatch.stdout, /server +issued +\(tls\.key does not match the certificate in tls\.crt\)/);
    const renamed = await runPkiCommand('--method', 'method1', '--out', out, '--client-names', 'alice');
    assert.match(renamed.stdout, /client +issued +\(issued for DNS:client, not DNS:alice\)/);
    assert.equal((await cert(join(out, 'client', 'tls.crt'))).subject.trim(), 'CN=alice');
  });

  it('re-issues a leaf signed by another CA', async () => {
    const out = join(await temporaryDirectory(), 'out');
    const other = join(await temporaryDirectory(), 'other');
    await runPkiCommand('--method', 'method1', '--out', out);
    await runPkiCommand('--method', 'method1', '--out', other);
    for (const file of ['tls.crt', 'tls.key']) {
      await writeFile(join(out, 'server', file), await readFile(join(other, 'server', file)));
    }
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.match(result.stdout, /server +issued +\(not signed by the current CA\)/);
  });

  it('re-issues leaves 30 days before they end, while the CA lasts, and then warns about the CA', async () => {
    const out = join(await temporaryDirectory(), 'out');
    const options = resolvePkiOptions({ method: 'method1', out });
    const start = Date.now();
    await runPki(options, new Date(start));
    const leaf = await cert(join(out, 'client', 'tls.crt'));
    const leafDays = (leaf.validToDate.getTime() - start) / DAY_MS;
    assert.ok(leafDays > 89 && leafDays <= 90, `leaves live 90 days (${leafDays})`);
    const caFingerprint = (await cert(join(out, 'ca', 'ca.crt'))).fingerprint256;

    // 59 days on: 31 left, nothing to do.
    const early = await runPki(options, new Date(start + 59 * DAY_MS));
    assert.deepEqual(early.outcomes.map((outcome) => outcome.action), ['kept', 'kept', 'kept']);
    // 61 days on: 29 left, both leaves are renewed; the CA stays.
    const renewal = await runPki(options, new Date(start + 61 * DAY_MS));
    assert.deepEqual(renewal.outcomes.map((outcome) => outcome.action), ['kept', 'issued', 'issued']);
    assert.match(renewal.outcomes[1]?.reason ?? '', /^expires \d{4}-.*, within 30 days$/);
    assert.equal((await cert(join(out, 'ca', 'ca.crt'))).fingerprint256, caFingerprint);
    assert.equal((await cert(join(out, 'client', 'tls.crt'))).checkIssued(await cert(join(out, 'ca', 'ca.crt'))), true);
    // 340 days on: the CA has 25 days left. Leaves cannot outlive it; the printout says what to do.
    const late = await runPki(options, new Date(start + 340 * DAY_MS));
    assert.match(late.outcomes[0]?.reason ?? '', /existing CA kept; WARNING: it expires .*, rerun with --force before then/);
    const lateLeaf = await cert(join(out, 'client', 'tls.crt'));
    assert.ok(lateLeaf.validToDate <= (await cert(join(out, 'ca', 'ca.crt'))).validToDate, 'clamped to the CA');
  });

  it('refuses --leaf-days longer than --days', async () => {
    const dir = await temporaryDirectory();
    const result = await runPkiCommand('--method', 'method1', '--out', join(dir, 'out'), '--days', '30', '--leaf-days', '60');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^pki: --leaf-days 60 is longer than --days 30: a leaf never outlasts its CA/);
    assert.deepEqual(await readdir(dir), []);
  });

  it('--force re-issues everything, the CA included, and says so', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out);
    const oldCa = await readFile(join(out, 'ca', 'ca.crt'), 'utf8');
    const result = await runPkiCommand('--method', 'method1', '--out', out, '--force');
    assert.equal(result.code, 0);
    assert.match(result.stdout, /ca +issued +\(--force: new CA\)/);
    assert.match(result.stdout, /server +issued +\(--force\)/);
    assert.notEqual(await readFile(join(out, 'ca', 'ca.crt'), 'utf8'), oldCa);
  });
});

describe('pki refuses to touch a broken CA', () => {
  const cases: { name: string; damage: (out: string) => Promise<void>; message: RegExp }[] = [
    {
      name: 'a CA key that does not match the CA certificate',
      damage: async (out) => writeFile(join(out, 'ca', 'ca.key'), await readFile(join(out, 'server', 'tls.key'))),
      message: /ca\.key: does not match the certificate in ca\.crt; refusing to replace the CA/,
    },
    {
      name: 'a missing CA key',
      damage: (out) => rm(join(out, 'ca', 'ca.key')),
      message: /ca\.key: missing; refusing to replace the CA \(--force issues a new CA/,
    },
    {
      name: 'a CA certificate that is not PEM',
      damage: (out) => writeFile(join(out, 'ca', 'ca.crt'), 'not a certificate'),
      message: /ca\.crt: not PEM/,
    },
    {
      name: 'a CA certificate that is a leaf',
      damage: async (out) => {
        await writeFile(join(out, 'ca', 'ca.crt'), await readFile(join(out, 'server', 'tls.crt')));
        await writeFile(join(out, 'ca', 'ca.key'), await readFile(join(out, 'server', 'tls.key')));
      },
      message: /ca\.crt is not a CA certificate/,
    },
  ];
  for (const { name, damage, message } of cases) {
    it(`refuses ${name}, exits 1 and leaves every file untouched`, async () => {
      const out = join(await temporaryDirectory(), 'out');
      await runPkiCommand('--method', 'method1', '--out', out);
      await damage(out);
      const before = await snapshot(out);
      const result = await runPkiCommand('--method', 'method1', '--out', out);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
      assert.deepEqual(await snapshot(out), before);
    });
  }

  it('refuses an unreadable CA key, exits 1 and leaves it untouched', async () => {
    const dir = await temporaryDirectory();
    if (process.getuid?.() === 0) await chown(dir, UNPRIVILEGED, UNPRIVILEGED);
    const out = join(dir, 'out');
    const issued = await runPkiCommandUnprivileged('--method', 'method1', '--out', out);
    assert.equal(issued.code, 0, issued.stderr);
    await chmod(join(out, 'ca', 'ca.key'), 0o000);
    const before = await snapshot(out);
    const result = await runPkiCommandUnprivileged('--method', 'method1', '--out', out);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^pki: .*ca\/ca\.key: cannot be read \(EACCES\); refusing to replace the CA/);
    assert.deepEqual(await snapshot(out), before);
  });
});

describe('pki rejects bad input with one line, exit 2, and nothing written', () => {
  const cases: { args: string[]; message: RegExp }[] = [
    { args: ['--method', 'method3'], message: /^pki: --method must be method1 or method2, not "method3"/ },
    { args: [], message: /^pki: --method is required/ },
    { args: ['--method', 'method1', '--days', '0'], message: /--days must be a whole number of days greater than 0, not "0"/ },
    { args: ['--method', 'method1', '--days=-5'], message: /--days must be a whole number of days greater than 0, not "-5"/ },
    { args: ['--method', 'method1', '--days', '1.5'], message: /--days must be a whole number of days greater than 0, not "1\.5"/ },
    { args: ['--method', 'method1', '--days', 'ten'], message: /--days must be a whole number/ },
    { args: ['--method', 'method1', '--key-size', '1024'], message: /--key-size must be one of 2048, 3072, 4096, not "1024"/ },
    { args: ['--method', 'method1', '--key-type', 'dsa'], message: /^pki: --key-type must be one of rsa, ecdsa, ed25519, not "dsa"/ },
    { args: ['--method', 'method1', '--key-type', 'ecdsa', '--key-size', '3072'], message: /^pki: --key-size is for RSA keys; --key-type ecdsa has no size to choose/ },
    { args: ['--method', 'method1', '--key-type', 'ed25519', '--curve', 'P-256'], message: /^pki: --curve is for ECDSA keys, not --key-type ed25519/ },
    { args: ['--method', 'method1', '--curve', 'P-384'], message: /^pki: --curve is for ECDSA keys, not --key-type rsa/ },
    { args: ['--method', 'method1', '--key-type', 'ecdsa', '--curve', 'P-521'], message: /^pki: --curve must be one of P-256, P-384, not "P-521"/ },
    { args: ['--method', 'method1', '--server-names', 'server,bad_name'], message: /--server-names: "bad_name" is neither a valid DNS name nor an IP address/ },
    { args: ['--method', 'method1', '--server-names', '300.1.1.1'], message: /--server-names: "300\.1\.1\.1" is neither/ },
    { args: ['--method', 'method1', '--client-names', ''], message: /--client-names: the list of names is empty/ },
    { args: ['--method', 'method1', '--dyas', '3'], message: /^pki: Unknown option '--dyas'/ },
    { args: ['--method', 'method1', 'stray'], message: /^pki: Unexpected argument 'stray'/ },
  ];
  // In process: parsing and resolving the options is where each of these is refused, before any run.
  for (const { args, message } of cases) {
    it(`refuses ${args.join(' ') || 'no arguments'}`, async () => {
      const dir = await temporaryDirectory();
      const out = join(dir, 'out');
      assert.throws(
        () => parsePkiOptions([...args, '--out', out]),
        (error: unknown) => error instanceof UsageError && error.exitCode === 2 && !error.message.includes('\n') && message.test(`pki: ${error.message}`),
      );
      assert.deepEqual(await readdir(dir), [], 'nothing written');
    });
  }

  it('the command says so in one line on stderr, with a pointer to --help, and exits 2', async () => {
    const dir = await temporaryDirectory();
    const result = await runPkiCommand('--method', 'method1', '--days', '0', '--out', join(dir, 'out'));
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'pki: --days must be a whole number of days greater than 0, not "0" (see --help)\n');
    assert.deepEqual(await readdir(dir), [], 'nothing written');
  });

  it('options resolve from an object with defaults, reading no file (whether --out can be written is the run\'s question)', async () => {
    const dir = await temporaryDirectory();
    await writeFile(join(dir, 'file'), 'x');
    const options = resolvePkiOptions({ method: 'method1', out: join(dir, 'file') });
    assert.deepEqual(options, {
      method: 'method1',
      withDemoIdentities: false,
      out: join(dir, 'file'),
      days: 365,
      leafDays: 90,
      key: { type: 'rsa', rsaBits: 2048 },
      force: false,
      caName: 'selfCA',
      serverNames: parseSubjectNames('server,localhost,127.0.0.1,::1'),
      clientNames: parseSubjectNames('client'),
    });
    assert.deepEqual(resolvePkiOptions({ method: 'method2', out: 'x', days: 30, keyType: 'ecdsa', curve: 'p-384' }).key, { type: 'ecdsa', curve: 'P-384' });
    assert.equal(resolvePkiOptions({ method: 'method1', out: 'x', days: 30 }).leafDays, 30);
    await assert.rejects(runPki(options), (error: unknown) => error instanceof UsageError && /^--out .*file is a file, not a directory$/.test(error.message));
    assert.throws(() => resolvePkiOptions({ method: 'method1', out: 'x', days: 1.5 }), { message: '--days must be a whole number of days greater than 0, not "1.5"' });
    assert.throws(() => resolvePkiOptions({ method: 'method1', out: 'x', keySize: 1024 }), { message: '--key-size must be one of 2048, 3072, 4096, not "1024"' });
  });

  it('the command line parses into the same object a caller would write', () => {
    assert.deepEqual(parsePkiArgs(['--method', 'method1', '--out', 'x', '--days', '30', '--key-size', '3072', '--force']), {
      method: 'method1',
      out: 'x',
      days: 30,
      leafDays: undefined,
      keyType: undefined,
      keySize: 3072,
      curve: undefined,
      force: true,
      caName: undefined,
      serverNames: undefined,
      clientNames: undefined,
      withDemoIdentities: undefined,
    });
    assert.equal(parsePkiArgs(['--help']), undefined);
  });

  it('refuses an --out that is a file', async () => {
    const dir = await temporaryDirectory();
    await writeFile(join(dir, 'file'), 'x');
    const result = await runPkiCommand('--method', 'method1', '--out', join(dir, 'file'));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--out .*file is a file, not a directory/);
    const nested = await runPkiCommand('--method', 'method1', '--out', join(dir, 'file', 'sub'));
    assert.match(nested.stderr, /--out .*file\/sub: .*file is a file/);
    assert.deepEqual(await readdir(dir), ['file']);
  });

  it('leaves the mode of an existing --out alone (it may be /tmp)', async () => {
    const dir = await temporaryDirectory();
    await chmod(dir, 0o1777);
    const result = await runPkiCommand('--method', 'method2', '--out', dir);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await stat(dir)).mode & 0o7777, 0o1777);
  });

  it('writes into writable identity folders under a read-only --out, as with one volume per identity', async () => {
    const dir = await temporaryDirectory();
    await chmod(dir, 0o755);
    for (const folder of ['ca', 'server', 'client']) {
      await mkdir(join(dir, folder));
      if (process.getuid?.() === 0) await chown(join(dir, folder), UNPRIVILEGED, UNPRIVILEGED);
    }
    if (process.getuid?.() !== 0) await chmod(dir, 0o555);
    const result = await runPkiCommandUnprivileged('--method', 'method1', '--out', dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /3 issued/);
  });

  it('refuses an identity folder that is not writable, naming it', async () => {
    const dir = await temporaryDirectory();
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'out', 'server'), { recursive: true });
    if (process.getuid?.() === 0) await chown(join(dir, 'out'), UNPRIVILEGED, UNPRIVILEGED);
    const result = await runPkiCommandUnprivileged('--method', 'method1', '--out', join(dir, 'out'));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^pki: --out .*\/out: .*\/out\/server is not writable \(EACCES\)/);
    assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['server']);
  });

  it('refuses an --out that is not writable', async () => {
    const dir = await temporaryDirectory();
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o555 });
    await chmod(dir, 0o755);
    const result = await runPkiCommandUnprivileged('--method', 'method1', '--out', join(locked, 'out'));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^pki: --out .*locked\/out: .*locked is not writable \(EACCES\)/);
    assert.deepEqual(await readdir(locked), []);
  });
});

describe('pki --key-type: every key type from the same PKI, judged by outside oracles', () => {
  const kinds = [
    { args: ['--key-type', 'ecdsa'], label: 'ECDSA P-256', text: [/Signature Algorithm: ecdsa-with-SHA256/, /NIST CURVE: P-256/] },
    { args: ['--key-type', 'ecdsa', '--curve', 'P-384'], label: 'ECDSA P-384', text: [/Signature Algorithm: ecdsa-with-SHA384/, /NIST CURVE: P-384/] },
    { args: ['--key-type', 'ed25519'], label: 'Ed25519', text: [/Signature Algorithm: ED25519/, /Public Key Algorithm: ED25519/] },
    { args: ['--key-type', 'rsa', '--key-size', '3072'], label: 'RSA-3072', text: [/Signature Algorithm: sha256WithRSAEncryption/, /Public-Key: \(3072 bit\)/] },
  ];
  for (const kind of kinds) {
    describe(`method1 ${kind.args.join(' ')}`, () => {
      let out: string;
      let report: string;
      before(async () => {
        out = join(await temporaryDirectory(), 'out');
        const result = await runPkiCommand('--method', 'method1', '--out', out, ...kind.args);
        assert.equal(result.code, 0, result.stderr);
        report = result.stdout;
      });

      it(`says ${kind.label} and shows it in openssl x509 -text for the CA and both leaves`, async () => {
        assert.match(report.split('\n')[0] ?? '', new RegExp(`^method1 → .* \\(${kind.label}, CA 365 days, leaves 90 days\\)$`));
        for (const file of [join(out, 'ca', 'ca.crt'), join(out, 'server', 'tls.crt'), join(out, 'client', 'tls.crt')]) {
          const text = (await openssl('x509', '-in', file, '-noout', '-text')).stdout;
          for (const expected of kind.text) assert.match(text, expected, file);
          const keyUsage = kind.label.startsWith('RSA') ? 'Digital Signature, Key Encipherment' : 'Digital Signature\n';
          if (!file.endsWith('ca.crt')) assert.ok(text.includes(`X509v3 Key Usage: critical\n                ${keyUsage}`), text);
        }
      });

      it('passes openssl verify -x509_strict for each purpose and fails it for the other', async () => {
        const verify = (purpose: string, identity: string) =>
          openssl('verify', '-x509_strict', '-CAfile', join(out, 'ca', 'ca.crt'), '-purpose', purpose, join(out, identity, 'tls.crt'));
        for (const [purpose, identity] of [['sslserver', 'server'], ['sslclient', 'client']]) {
          const result = await verify(purpose as string, identity as string);
          assert.equal(result.code, 0, `${identity}: ${result.stdout}${result.stderr}`);
        }
        for (const [purpose, identity] of [['sslserver', 'client'], ['sslclient', 'server']]) {
          const result = await verify(purpose as string, identity as string);
          assert.equal(result.code, 2);
          assert.match(result.stdout + result.stderr, /error 26 at 0 depth lookup: unsuitable certificate purpose/);
        }
      });

      for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
        it(`completes a real mutual handshake with node:tls over ${version}`, async () => {
          const seen = await handshake(out, 'localhost', version);
          assert.equal(seen.protocol, version);
          assert.equal(seen.clientSawServer.trim(), 'CN=server');
          assert.equal(seen.serverSawClient.trim(), 'CN=client');
        });
      }

      it('keeps everything on a rerun with the same key type', async () => {
        const before = await snapshot(out);
        const result = await runPkiCommand('--method', 'method1', '--out', out, ...kind.args);
        assert.match(result.stdout, /Nothing changed/);
        assert.deepEqual(await snapshot(out), before);
      });
    });
  }

  for (const keyType of ['ecdsa', 'ed25519']) {
    it(`method2 --key-type ${keyType}: the shared self-signed certificate shakes hands (TLS 1.3 and 1.2)`, async () => {
      const out = join(await temporaryDirectory(), 'out');
      const result = await runPkiCommand('--method', 'method2', '--out', out, '--key-type', keyType);
      assert.equal(result.code, 0, result.stderr);
      const file = join(out, 'server', 'tls.crt');
      for (const purpose of ['sslserver', 'sslclient']) {
        assert.equal((await openssl('verify', '-x509_strict', '-CAfile', file, '-purpose', purpose, file)).code, 0, purpose);
      }
      for (const version of ['TLSv1.3', 'TLSv1.2'] as const) assert.equal((await handshake(out, 'localhost', version)).protocol, version);
    });
  }
});

describe('pki reruns with another key type: the leaves are re-issued and the report says why', () => {
  it('rsa → ecdsa re-issues both leaves under the kept RSA CA (a mixed chain that verifies and shakes hands)', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out);
    const caBefore = await readFile(join(out, 'ca', 'ca.key'), 'utf8');
    const result = await runPkiCommand('--method', 'method1', '--out', out, '--key-type', 'ecdsa');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ca +kept +\(existing CA kept; its key stays RSA-2048 \(--force replaces it with ECDSA P-256\)\)/);
    assert.match(result.stdout, /server +issued +\(its key is RSA-2048, not ECDSA P-256\)/);
    assert.match(result.stdout, /client +issued +\(its key is RSA-2048, not ECDSA P-256\)/);
    assert.equal(await readFile(join(out, 'ca', 'ca.key'), 'utf8'), caBefore, 'the CA key is never replaced without --force');
    const text = (await openssl('x509', '-in', join(out, 'server', 'tls.crt'), '-noout', '-text')).stdout;
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/, 'signed by the RSA CA');
    assert.match(text, /NIST CURVE: P-256/, 'an ECDSA key');
    const verified = await openssl('verify', '-x509_strict', '-CAfile', join(out, 'ca', 'ca.crt'), '-purpose', 'sslserver', join(out, 'server', 'tls.crt'));
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((await handshake(out, 'localhost')).serverSawClient.trim(), 'CN=client');
  });

  it('ecdsa CA → rsa leaves: an RSA leaf under an ECDSA CA, the reverse mixed chain', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out, '--key-type', 'ecdsa');
    const result = await runPkiCommand('--method', 'method1', '--out', out, '--key-type', 'rsa');
    assert.match(result.stdout, /client +issued +\(its key is ECDSA P-256, not RSA-2048\)/);
    const text = (await openssl('x509', '-in', join(out, 'client', 'tls.crt'), '-noout', '-text')).stdout;
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    const verified = await openssl('verify', '-x509_strict', '-CAfile', join(out, 'ca', 'ca.crt'), '-purpose', 'sslclient', join(out, 'client', 'tls.crt'));
    assert.equal(verified.code, 0, verified.stderr);
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) assert.equal((await handshake(out, 'localhost', version)).protocol, version);
  });

  it('--force with another key type replaces the CA too', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method1', '--out', out);
    const result = await runPkiCommand('--method', 'method1', '--out', out, '--key-type', 'ed25519', '--force');
    assert.match(result.stdout, /ca +issued +\(--force: new CA\)/);
    assert.match((await openssl('x509', '-in', join(out, 'ca', 'ca.crt'), '-noout', '-text')).stdout, /Public Key Algorithm: ED25519/);
  });

  it('method2 rsa → ed25519 re-issues the shared certificate and says why', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await runPkiCommand('--method', 'method2', '--out', out);
    const result = await runPkiCommand('--method', 'method2', '--out', out, '--key-type', 'ed25519');
    assert.match(result.stdout, /server +issued +\(its key is RSA-2048, not Ed25519\)/);
    assert.equal((await cert(join(out, 'client', 'tls.crt'))).publicKey.asymmetricKeyType, 'ed25519');
  });
});
