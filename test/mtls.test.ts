// Our server and client, in process, over real TLS on loopback: both methods,
// and every way the mutual handshake can fail, seen from both sides.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import got from 'got';
import { readClientConfig } from '../services/client/config.ts';
import { exchange, type Exchange } from '../services/client/exchange.ts';
import { readClientMaterial } from '../services/client/material.ts';
import { readTlsMaterial } from '../core/tls-material.ts';
import { caOf, expiredSince, identity, identityByOpenssl, issue, rogueCa, trustOnly, validFromIn } from './helpers/material.ts';
import { startTestServer, type LogEvent, type TestServer } from './helpers/server.ts';

/** Runs our client's exchange against a URL with the material in dir. */
async function clientExchange(dir: string, url: string): Promise<Exchange> {
  const config = readClientConfig({ TLS_DIR: dir, SERVER_URL: url, WAIT_FOR_SERVER_MS: '0', TIMEOUT_MS: '5000' });
  return exchange(config, await readClientMaterial(dir));
}

const handshakeFailure = (event: LogEvent) => event.event === 'handshake_failed';

for (const method of ['method1', 'method2'] as const) {
  describe(`${method}: our client and server authenticate each other`, () => {
    let out: string;
    let server: TestServer;
    before(async () => {
      out = await issue(method);
      server = await startTestServer(join(out, 'server'));
    });
    after(() => server.close());

    it('completes the exchange; the client reports the server, TLS 1.3 and the greeting', async () => {
      const result = await clientExchange(join(out, 'client'), server.url());
      assert.equal(result.failure, undefined);
      assert.equal(result.status, 200);
      // method2's one shared certificate names both sides; its first SAN is DNS:server.
      const name = method === 'method1' ? 'client' : 'server';
      assert.equal(result.body, `Hello ${name}, from server (mTLS verified)\n`);
      assert.equal(result.protocol, 'TLSv1.3');
      assert.match(result.cipher ?? '', /^TLS_/);
      assert.equal(result.server?.subject, method === 'method1' ? 'CN=server' : 'CN=localhost');
      const request = await server.log.waitFor((event) => event.event === 'request');
      assert.equal(request['client'], name);
      assert.equal(request['status'], 200);
      assert.equal(typeof request['ms'], 'number');
    });

    it('answers /whoami with the peer certificate and the TLS session, via got directly', async () => {
      const read = (file: string) => readFile(join(out, 'client', file), 'utf8');
      const whoami = await got(`${server.url()}whoami`, {
        https: { certificate: await read('tls.crt'), key: await read('tls.key'), certificateAuthority: await read('ca.crt') },
      }).json<Record<string, unknown>>();
      const expected = (await readTlsMaterial(join(out, 'client'))).certificate;
      assert.equal(whoami['fingerprint256'], expected.fingerprint256);
      assert.equal(whoami['serialNumber'], expected.serialNumber);
      assert.equal(whoami['subject'], method === 'method1' ? 'CN=client' : 'CN=localhost');
      assert.equal(whoami['issuer'], method === 'method1' ? 'CN=selfCA' : 'CN=localhost');
      assert.ok(Array.isArray(whoami['subjectAltNames']));
      assert.equal(whoami['protocol'], 'TLSv1.3');
      assert.match(String(whoami['cipher']), /^TLS_/);
      assert.equal(whoami['validTo'], expected.validToDate.toISOString());
    });

    it('answers 404 for unknown paths and 405 (with Allow) for other methods', async () => {
      const read = (file: string) => readFile(join(out, 'client', file), 'utf8');
      const https = { certificate: await read('tls.crt'), key: await read('tls.key'), certificateAuthority: await read('ca.crt') };
      const missing = await got(`${server.url()}nope`, { https, throwHttpErrors: false });
      assert.equal(missing.statusCode, 404);
      const posted = await got.post(server.url(), { https, throwHttpErrors: false, body: 'x' });
      assert.equal(posted.statusCode, 405);
      assert.equal(posted.headers['allow'], 'GET, HEAD');
    });

    it('refuses a client without a certificate during the handshake', async () => {
      const result = await clientExchange(await trustOnly(await readFile(join(out, 'client', 'ca.crt'), 'utf8')), server.url());
      assert.equal(result.failure?.code, 'CERTIFICATE_REQUIRED');
      const logged = await server.log.waitFor(handshakeFailure);
      assert.equal(logged['reason'], 'peer did not return a certificate');
    });
  });
}

describe('method1: every refused handshake, with the client diagnosis and the server reason', () => {
  let out: string;
  let server: TestServer;
  before(async () => {
    out = await issue('method1');
    server = await startTestServer(join(out, 'server'), ['client']);
  });
  after(() => server.close());

  /** Runs the exchange and returns the client's diagnosis with the server's log line for that handshake. */
  async function refused(dir: string): Promise<{ client: string | undefined; server: unknown; code: unknown }> {
    const seen = server.log.events.length;
    const result = await clientExchange(dir, server.url());
    const logged = await server.log.waitFor((event) => handshakeFailure(event) && server.log.events.indexOf(event) >= seen);
    // The server's line is about this very connection: its peer port is our local port.
    assert.equal(`${logged['remote']}:${logged['remotePort']}`, result.connection?.local);
    return { client: result.failure?.code, server: logged['reason'], code: logged['code'] };
  }

  it('a client certificate from another CA with the same subject name: unknown CA', async () => {
    const rogue = await rogueCa('selfCA');
    const trust = await readFile(join(out, 'ca', 'ca.crt'), 'utf8');
    const outcome = await refused(await identity({ issuer: rogue, trust }));
    assert.deepEqual(outcome, { client: 'CERTIFICATE_REJECTED', server: 'unknown CA', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('an expired client certificate: certificate expired', async () => {
    const outcome = await refused(await identity({ issuer: await caOf(out), validity: expiredSince(1) }));
    assert.deepEqual(outcome, { client: 'CERTIFICATE_REJECTED', server: 'certificate expired', code: 'CERT_HAS_EXPIRED' });
  });

  it('a client certificate that is not valid yet: certificate not yet valid', async () => {
    const outcome = await refused(await identity({ issuer: await caOf(out), validity: validFromIn(1) }));
    assert.deepEqual(outcome, { client: 'CERTIFICATE_REJECTED', server: 'certificate not yet valid', code: 'CERT_NOT_YET_VALID' });
  });

  it('a certificate with a serverAuth-only EKU presented as a client: wrong key usage', async () => {
    const outcome = await refused(await identity({ issuer: await caOf(out), profile: 'server' }));
    assert.deepEqual(outcome, { client: 'CERTIFICATE_REJECTED', server: 'wrong key usage', code: 'INVALID_PURPOSE' });
  });

  it("the server's own certificate presented as a client: wrong key usage", async () => {
    const outcome = await refused(join(out, 'server'));
    assert.deepEqual(outcome, { client: 'CERTIFICATE_REJECTED', server: 'wrong key usage', code: 'INVALID_PURPOSE' });
  });

  it('a client certificate signed by a leaf instead of the CA: rejected, with or without the chain', async () => {
    const client = await readTlsMaterial(join(out, 'client'));
    const leafIssuer = { certificatePem: client.certificatePem, key: client.key };
    const mallory = { issuer: leafIssuer, commonName: 'mallory', names: 'mallory', trust: client.caPem };
    // Our builder refuses a leaf as issuer; an attacker's openssl does not.
    // Alone, its issuer is nowhere to be found.
    const alone = await refused(await identityByOpenssl(mallory));
    assert.deepEqual(alone, { client: 'CERTIFICATE_REJECTED', server: 'unknown CA', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    // With the leaf that signed it, OpenSSL finds a chain to our CA and refuses it: that leaf is not a CA
    // (`openssl verify` says "invalid CA certificate"; Node has no name for that code).
    const chained = await refused(await identityByOpenssl({ ...mallory, chain: [client.certificatePem] }));
    assert.deepEqual(chained, {
      client: 'CERTIFICATE_REJECTED',
      server: 'certificate chain rejected (no specific reason from OpenSSL)',
      code: 'UNSPECIFIED',
    });
  });

  it('a verified client outside ALLOWED_CLIENTS: the handshake succeeds, HTTP 403', async () => {
    const dir = await identity({ issuer: await caOf(out), commonName: 'eve', names: 'eve' });
    const seen = server.log.events.length;
    const result = await clientExchange(dir, server.url());
    assert.equal(result.status, 403);
    assert.equal(result.failure?.code, 'FORBIDDEN');
    assert.match(result.failure?.message ?? '', /eve is authenticated but not allowed here/);
    const logged = await server.log.waitFor((event) => event.event === 'request' && server.log.events.indexOf(event) >= seen);
    assert.equal(logged['status'], 403);
    assert.equal(logged['client'], 'eve');
    assert.equal(logged['reason'], 'not in ALLOWED_CLIENTS');
  });

  it('a client that reaches the server by an IP not in its SANs refuses the server', async () => {
    // 127.0.0.2 is loopback too, but not a name in the server certificate.
    await using elsewhere = await startTestServer(join(out, 'server'), ['client'], '127.0.0.2');
    const result = await clientExchange(join(out, 'client'), elsewhere.url('127.0.0.2'));
    assert.equal(result.failure?.code, 'HOSTNAME_MISMATCH');
    assert.match(
      result.failure?.message ?? '',
      /"127\.0\.0\.2" is not a name in the server's certificate \(it names DNS:server, DNS:localhost, IP:127\.0\.0\.1, IP:::1\)/,
    );
    const logged = await elsewhere.log.waitFor(handshakeFailure);
    assert.equal(logged['code'], 'ECONNRESET');
    assert.equal(logged['remote'], '127.0.0.1');
  });

  it('a client whose ca.crt is another CA refuses the server', async () => {
    const other = await issue('method1');
    const dir = await identity({ issuer: await caOf(out), trust: await readFile(join(other, 'ca', 'ca.crt'), 'utf8') });
    const seen = server.log.events.length;
    const result = await clientExchange(dir, server.url());
    assert.equal(result.failure?.code, 'SERVER_UNTRUSTED');
    assert.match(result.failure?.message ?? '', /not signed by a CA in our ca\.crt \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
    const logged = await server.log.waitFor((event) => handshakeFailure(event) && server.log.events.indexOf(event) >= seen);
    assert.equal(logged['reason'], 'client hung up during the handshake');
  });
});

describe('the client facing a server whose certificate comes from another CA', () => {
  it('refuses it as untrusted, and reports no HTTP exchange', async () => {
    const ours = await issue('method1');
    const theirs = await issue('method1');
    await using server = await startTestServer(join(theirs, 'server'));
    const result = await clientExchange(join(ours, 'client'), server.url());
    assert.equal(result.failure?.code, 'SERVER_UNTRUSTED');
    assert.equal(result.status, undefined);
    assert.equal(result.server, undefined, 'an untrusted certificate is not described as the server');
  });
});

describe('the client when nothing answers', () => {
  it('retries a refused connection within its time budget, then says connection refused', async () => {
    const out = await issue('method1');
    const server = await startTestServer(join(out, 'server'));
    const url = server.url();
    await server.close();
    const config = readClientConfig({ TLS_DIR: join(out, 'client'), SERVER_URL: url, WAIT_FOR_SERVER_MS: '600' });
    const result = await exchange(config, await readTlsMaterial(join(out, 'client')));
    assert.equal(result.failure?.code, 'CONNECTION_REFUSED');
    assert.ok(result.attempts >= 2, `retried (${result.attempts} attempts)`);
  });

  it('never retries a rejected handshake', async () => {
    const out = await issue('method1');
    await using server = await startTestServer(join(out, 'server'));
    const config = readClientConfig({ TLS_DIR: join(out, 'server'), SERVER_URL: server.url(), WAIT_FOR_SERVER_MS: '5000' });
    const result = await exchange(config, await readTlsMaterial(join(out, 'server')));
    assert.equal(result.failure?.code, 'CERTIFICATE_REJECTED');
    assert.equal(result.attempts, 1);
    assert.equal(server.log.events.filter(handshakeFailure).length, 1);
  });
});
