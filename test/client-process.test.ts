// The real client process: what a person sees, and its exit codes.
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issue, trustOnly } from './helpers/material.ts';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

function runClient(env: NodeJS.ProcessEnv) {
  return run(process.execPath, [join(ROOT, 'services/client/main.ts')], { env: { ...process.env, WAIT_FOR_SERVER_MS: '0', ...env } });
}

describe('the client process', () => {
  let out: string;
  let server: TestServer;
  before(async () => {
    out = await issue('method1');
    server = await startTestServer(join(out, 'server'));
  });
  after(() => server.close());

  it('prints the server identity, TLS session, status and body, and exits 0', async () => {
    const result = await runClient({ TLS_DIR: join(out, 'client'), SERVER_URL: server.url() });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^client: +https:\/\/localhost:\d+\/ as CN=client, trusting CN=selfCA$/);
    assert.match(result.stdout, /^conn: +127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+$/m);
    assert.match(result.stdout, /^server: +CN=server · issuer CN=selfCA · DNS:server, DNS:localhost, IP:127\.0\.0\.1, IP:::1$/m);
    assert.match(result.stdout, /^ +SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
    assert.match(result.stdout, /^tls: +TLSv1\.3 TLS_AES_\d+_GCM_SHA\d+$/m);
    assert.match(result.stdout, /^http: +200 OK$/m);
    assert.match(result.stdout, /^body: +Hello client, from server \(mTLS verified\)$/m);
    assert.equal(lines.at(-1), 'result:  OK (mutual TLS: both sides verified)');
    assert.equal(result.stderr, '');
  });

  it('without a certificate: one diagnosis line, exit 1', async () => {
    const dir = await trustOnly(await readFile(join(out, 'client', 'ca.crt'), 'utf8'));
    const result = await runClient({ TLS_DIR: dir, SERVER_URL: server.url() });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^client: .* as no client certificate,/);
    assert.equal(result.stdout.trim().split('\n').at(-1), 'result:  FAILED CERTIFICATE_REQUIRED: the server requires a client certificate and we did not send one');
  });

  it("presenting the server's certificate: warns first, then says the server rejected it", async () => {
    const result = await runClient({ TLS_DIR: join(out, 'server'), SERVER_URL: server.url() });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^warning: our tls\.crt is not usable as a client certificate: its extended key usage lacks clientAuth; the server will likely refuse it$/m);
    assert.match(result.stdout, /result:  FAILED CERTIFICATE_REJECTED: the server dropped the connection during the handshake: it rejected our certificate \(unknown CA, expired, or wrong key usage; a TLS server does not say which, its log does\)\n$/);
  });

  it('against a port where nothing listens: connection refused, exit 1', async () => {
    const result = await runClient({ TLS_DIR: join(out, 'client'), SERVER_URL: 'https://127.0.0.1:9/' });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /result:  FAILED CONNECTION_REFUSED: connection refused: nothing listens on 127\.0\.0\.1:9\n$/);
  });

  const refusals: { name: string; env: () => Promise<NodeJS.ProcessEnv>; message: RegExp }[] = [
    { name: 'no TLS_DIR', env: async () => ({ TLS_DIR: '' }), message: /^client: TLS_DIR is required \(e\.g\. TLS_DIR=out\/method1\/client\)$/ },
    { name: 'an http URL', env: async () => ({ TLS_DIR: join(out, 'client'), SERVER_URL: 'http://server:9443/' }), message: /^client: SERVER_URL must use https:, not "http:" \(mTLS needs TLS\)$/ },
    { name: 'a URL that is not one', env: async () => ({ TLS_DIR: join(out, 'client'), SERVER_URL: 'server:9443' }), message: /^client: SERVER_URL must use https:/ },
    { name: 'a bad timeout', env: async () => ({ TLS_DIR: join(out, 'client'), TIMEOUT_MS: 'soon' }), message: /^client: TIMEOUT_MS must be a whole number from 100 to 120000, not "soon"$/ },
    { name: 'a folder without ca.crt', env: async () => ({ TLS_DIR: await temporaryDirectory() }), message: /^client: .*\/ca\.crt: missing$/ },
    {
      name: 'a certificate without its key',
      env: async () => {
        const dir = await temporaryDirectory();
        await copyFile(join(out, 'client', 'ca.crt'), join(dir, 'ca.crt'));
        await copyFile(join(out, 'client', 'tls.crt'), join(dir, 'tls.crt'));
        return { TLS_DIR: dir };
      },
      message: /^client: .*\/tls\.key: missing$/,
    },
    {
      name: 'a ca.crt that is not PEM',
      env: async () => {
        const dir = await temporaryDirectory();
        await writeFile(join(dir, 'ca.crt'), 'nope');
        return { TLS_DIR: dir };
      },
      message: /^client: .*\/ca\.crt: not PEM \(no "-----BEGIN" line\)$/,
    },
  ];
  for (const { name, env, message } of refusals) {
    it(`refuses ${name}: one line on stderr, exit 2`, async () => {
      const result = await runClient(await env());
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr.trim(), message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    });
  }
});
