// Independent TLS stacks against ours: curl and openssl s_client against our
// server, and our client against openssl s_server.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readClientConfig } from '../services/client/config.ts';
import { exchange } from '../services/client/exchange.ts';
import { readTlsMaterial } from '../core/tls-material.ts';
import { issue } from './helpers/material.ts';
import { run } from './helpers/processes.ts';
import { startSServer } from './helpers/s-server.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

describe('curl and openssl s_client against our server', () => {
  let out: string;
  let server: TestServer;
  before(async () => {
    out = await issue('method1');
    server = await startTestServer(join(out, 'server'));
  });
  after(() => server.close());

  it('curl with --cert/--key/--cacert gets the greeting', async () => {
    const client = (file: string) => join(out, 'client', file);
    const result = await run('curl', ['-sS', '--cert', client('tls.crt'), '--key', client('tls.key'), '--cacert', client('ca.crt'), server.url()]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Hello client, from server (mTLS verified)\n');
  });

  it('negotiates TLS 1.3 by default, accepts a TLS 1.2 client, and refuses TLS 1.1', async () => {
    const client = (file: string) => join(out, 'client', file);
    const tlsArgs = ['-sS', '-o', '/dev/null', '-w', '%{ssl_verify_result}', '--cert', client('tls.crt'), '--key', client('tls.key'), '--cacert', client('ca.crt')];
    const tls12 = await run('curl', [...tlsArgs, '--tls-max', '1.2', '-v', server.url()]);
    assert.equal(tls12.code, 0, tls12.stderr);
    assert.match(tls12.stderr, /SSL connection using TLSv1\.2/);
    const tls13 = await run('curl', [...tlsArgs, '-v', server.url()]);
    assert.equal(tls13.code, 0, tls13.stderr);
    assert.match(tls13.stderr, /SSL connection using TLSv1\.3/);
    const before = server.log.events.length;
    const tls11 = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-tls1_1', '-cert', client('tls.crt'), '-key', client('tls.key')], { input: '' });
    assert.notEqual(tls11.code, 0);
    assert.match(tls11.stdout + tls11.stderr, /no protocols available|unsupported protocol|alert protocol version|wrong version/i);
    const refused = await server.log.waitFor((event) => event.event === 'handshake_failed' && server.log.events.indexOf(event) >= before);
    assert.equal(refused['reason'], 'TLS version too old (TLS 1.2 is the minimum)');
  });

  it('curl without a certificate is refused in the handshake', async () => {
    const before = server.log.events.length;
    const result = await run('curl', ['-sS', '--cacert', join(out, 'client', 'ca.crt'), server.url()]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /alert|certificate required|handshake/i);
    const logged = await server.log.waitFor((event) => event.event === 'handshake_failed' && server.log.events.indexOf(event) >= before);
    assert.equal(logged['reason'], 'peer did not return a certificate');
  });

  it('openssl s_client without a certificate is refused with "certificate required"', async () => {
    const before = server.log.events.length;
    const result = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', '-CAfile', join(out, 'client', 'ca.crt'), '-verify_return_error', '-ign_eof'], { input: 'GET / HTTP/1.0\r\n\r\n' });
    const output = result.stdout + result.stderr;
    assert.match(output, /Verify return code: 0 \(ok\)/, 'we verified the server');
    assert.match(output, /alert certificate required|alert number 116/, 'the server refused us');
    assert.doesNotMatch(output, /Hello/);
    const logged = await server.log.waitFor((event) => event.event === 'handshake_failed' && server.log.events.indexOf(event) >= before);
    assert.equal(logged['reason'], 'peer did not return a certificate');
  });

  it('openssl s_client with the client certificate gets the greeting', async () => {
    const client = (file: string) => join(out, 'client', file);
    const result = await run('openssl', ['s_client', '-quiet', '-connect', `127.0.0.1:${server.port}`, '-servername', 'localhost', '-CAfile', client('ca.crt'), '-cert', client('tls.crt'), '-key', client('tls.key'), '-verify_return_error'], { input: 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' });
    assert.match(result.stdout, /HTTP\/1\.1 200 OK[\s\S]*Hello client, from server \(mTLS verified\)/);
  });
});

describe('our client against openssl s_server -Verify 1', () => {
  it('is accepted, and s_server saw our client certificate', async () => {
    const out = await issue('method1');
    await using sServer = await startSServer(join(out, 'server'));
    const config = readClientConfig({ TLS_DIR: join(out, 'client'), SERVER_URL: `https://localhost:${sServer.port}/`, WAIT_FOR_SERVER_MS: '0' });
    const result = await exchange(config, await readTlsMaterial(join(out, 'client')));
    assert.equal(result.failure, undefined, result.failure?.message);
    assert.equal(result.status, 200);
    assert.equal(result.server?.subject, 'CN=server');
    // s_server -www echoes the session, ending with the client certificate it verified: ours.
    const echoed = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.body ?? '');
    assert.equal(`${echoed?.[0]}\n`, (await readTlsMaterial(join(out, 'client'))).certificatePem);
  });
});
