// The real client process: what a person sees, and its exit codes.
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExchangeDocument } from '../services/client/report-json.ts';
import { caOf, identity, issue, trustOnly } from './helpers/material.ts';
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
    assert.match(result.stdout, /result:  FAILED CERTIFICATE_REJECTED: the server dropped the connection during the handshake: it rejected our certificate \(unknown CA, expired, revoked, or wrong key usage; a TLS server does not say which, its log does\)\n$/);
  });

  it('against a port where nothing listens: connection refused, exit 1', async () => {
    const result = await runClient({ TLS_DIR: join(out, 'client'), SERVER_URL: 'https://127.0.0.1:9/' });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /result:  FAILED CONNECTION_REFUSED: connection refused: nothing listens on 127\.0\.0\.1:9\n$/);
  });

  it('OUTPUT=json: one JSON document with every field, read by key', async () => {
    const result = await runClient({ TLS_DIR: join(out, 'client'), SERVER_URL: server.url(), OUTPUT: 'json' });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, 1);
    const document = JSON.parse(result.stdout) as ExchangeDocument;
    assert.equal(document.url, server.url());
    assert.equal(document.presents?.subject, 'CN=client');
    assert.deepEqual(document.trusts, ['CN=selfCA']);
    assert.deepEqual(document.warnings, []);
    assert.match(document.connection?.local ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(document.connection?.remote, `127.0.0.1:${server.port}`);
    assert.equal(document.server?.subject, 'CN=server');
    assert.deepEqual(document.server?.subjectAltNames, ['DNS:server', 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
    assert.equal(document.protocol, 'TLSv1.3');
    assert.equal(document.status, 200);
    assert.equal(document.body, 'Hello client, from server (mTLS verified)\n');
    assert.equal(document.result, 'OK');
    assert.equal(document.failure, null);
    assert.equal(document.location, null);
  });

  it('OUTPUT=json without a certificate: result FAILED with the diagnosis, exit 1', async () => {
    const dir = await trustOnly(await readFile(join(out, 'client', 'ca.crt'), 'utf8'));
    const result = await runClient({ TLS_DIR: dir, SERVER_URL: server.url(), OUTPUT: 'json' });
    assert.equal(result.code, 1);
    const document = JSON.parse(result.stdout) as ExchangeDocument;
    assert.equal(document.presents, null);
    assert.equal(document.result, 'FAILED');
    assert.deepEqual(document.failure, { code: 'CERTIFICATE_REQUIRED', message: 'the server requires a client certificate and we did not send one' });
    assert.equal(document.status, null);
  });

  const refusals: { name: string; env: () => Promise<NodeJS.ProcessEnv>; message: RegExp }[] = [
    { name: 'no TLS_DIR', env: async () => ({ TLS_DIR: '' }), message: /^client: TLS_DIR is required \(e\.g\. TLS_DIR=out\/method1\/client\)$/ },
    { name: 'an http URL', env: async () => ({ TLS_DIR: join(out, 'client'), SERVER_URL: 'http://server:9443/' }), message: /^client: SERVER_URL must use https:, not "http:" \(mTLS needs TLS\)$/ },
    { name: 'a URL that is not one', env: async () => ({ TLS_DIR: join(out, 'client'), SERVER_URL: 'server:9443' }), message: /^client: SERVER_URL must use https:/ },
    { name: 'an unknown output format', env: async () => ({ TLS_DIR: join(out, 'client'), OUTPUT: 'xml' }), message: /^client: OUTPUT must be text or json, not "xml"$/ },
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

/** Where a hostile server points the client, and whether anything arrived there. */
interface Listener {
  url: string;
  /** Requests received (plain HTTP) or TLS connections accepted (HTTPS). */
  visits: number;
  /** Whether any connection presented a client certificate. */
  sawClientCertificate: boolean;
  close(): Promise<void>;
}

/** A TLS server holding a valid server certificate that answers every request with `answer`. */
async function hostileServer(serverDir: string, answer: (request: IncomingMessage, response: ServerResponse) => void): Promise<Listener> {
  const read = (file: string) => readFile(join(serverDir, file));
  const server = createHttpsServer(
    // Asks for a client certificate without requiring one, to see what a client gives away.
    { cert: await read('tls.crt'), key: await read('tls.key'), ca: await read('ca.crt'), requestCert: true, rejectUnauthorized: false },
    answer,
  );
  return listen(server, 'https', (listener) => {
    server.on('secureConnection', (socket) => {
      listener.visits++;
      if (socket.getPeerX509Certificate() !== undefined) listener.sawClientCertificate = true;
    });
  });
}

/** A plain HTTP listener that counts what reaches it. */
async function plainListener(): Promise<Listener> {
  const server = createHttpServer((_request, response) => response.end('Hello, in plain text\n'));
  return listen(server, 'http', (listener) => server.on('request', () => listener.visits++));
}

async function listen(server: Server, scheme: string, watch: (listener: Listener) => void): Promise<Listener> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const listener: Listener = {
    url: `${scheme}://127.0.0.1:${port}/`,
    visits: 0,
    sawClientCertificate: false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  watch(listener);
  return listener;
}

/** A response of `size` bytes, written in 64 KiB chunks (no Content-Length: chunked). */
function streamBody(size: number): (request: IncomingMessage, response: ServerResponse) => void {
  return (_request, response) => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let left = size;
    const more = () => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        if (!response.write(piece)) return void response.once('drain', more);
      }
      response.end();
    };
    more();
  };
}

const MiB = 1024 * 1024;

describe('the client against a hostile server with a valid certificate', () => {
  let out: string;
  const listeners: Listener[] = [];
  const track = async (listener: Promise<Listener>) => {
    const started = await listener;
    listeners.push(started);
    return started;
  };
  before(async () => {
    out = await issue('method1');
  });
  after(() => Promise.all(listeners.map((listener) => listener.close())));
  const client = (url: string) => runClient({ TLS_DIR: join(out, 'client'), SERVER_URL: url.replace('127.0.0.1', 'localhost') });
  const verdict = (stdout: string) => stdout.trim().split('\n').at(-1);

  it('does not follow a 302 to plain HTTP: REDIRECT_REFUSED naming the Location, nothing sent in plain text', async () => {
    const plain = await track(plainListener());
    const server = await track(hostileServer(join(out, 'server'), (_request, response) => response.writeHead(302, { location: plain.url }).end()));
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout);
    assert.equal(verdict(result.stdout), `result:  FAILED REDIRECT_REFUSED: the server answered 302 and points to ${plain.url}; a client that authenticates with a certificate follows no redirect`);
    assert.equal(plain.visits, 0);
  });

  it('does not follow a 307 to another https host: that host never sees our certificate', async () => {
    const other = await track(hostileServer(join(out, 'server'), (_request, response) => response.end('got you\n')));
    const server = await track(hostileServer(join(out, 'server'), (_request, response) => response.writeHead(307, { location: other.url }).end()));
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout);
    assert.equal(verdict(result.stdout), `result:  FAILED REDIRECT_REFUSED: the server answered 307 and points to ${other.url}; a client that authenticates with a certificate follows no redirect`);
    assert.equal(other.visits, 0);
    assert.equal(other.sawClientCertificate, false);
    assert.equal(server.sawClientCertificate, true); // the server we dialled did get it: the test would see a leak
  });

  it('refuses a body over 1 MiB announced by Content-Length: BODY_TOO_LARGE', async () => {
    const body = Buffer.alloc(MiB + 1, 'a');
    const server = await track(hostileServer(join(out, 'server'), (_request, response) => response.end(body)));
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout.slice(0, 2000));
    assert.equal(verdict(result.stdout), 'result:  FAILED BODY_TOO_LARGE: the server sent more than 1048576 bytes of body; we stopped reading');
    assert.doesNotMatch(result.stdout, /aaaa/);
  });

  it('stops reading a streamed body at 1 MiB: BODY_TOO_LARGE', async () => {
    const server = await track(hostileServer(join(out, 'server'), streamBody(8 * MiB)));
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout.slice(0, 2000));
    assert.equal(verdict(result.stdout), 'result:  FAILED BODY_TOO_LARGE: the server sent more than 1048576 bytes of body; we stopped reading');
  });

  it('counts a compressed body as it inflates: 8 MiB in 8 KiB of gzip is BODY_TOO_LARGE', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * MiB, 'a'));
    assert.ok(bomb.length < 64 * 1024);
    const server = await track(
      hostileServer(join(out, 'server'), (_request, response) => response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb)),
    );
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout.slice(0, 2000));
    assert.equal(verdict(result.stdout), 'result:  FAILED BODY_TOO_LARGE: the server sent more than 1048576 bytes of body; we stopped reading');
  });

  it('accepts a body of exactly 1 MiB', async () => {
    const server = await track(hostileServer(join(out, 'server'), streamBody(MiB)));
    const result = await client(server.url);
    assert.equal(result.code, 0, result.stdout.slice(0, 2000));
    assert.equal(verdict(result.stdout), 'result:  OK (mutual TLS: both sides verified)');
    // A person sees the start of a long body, and its size.
    assert.match(result.stdout, /^body: +a{200}… \(1048576 bytes; the first 200 characters shown\)$/m);
  });

  it('prints control characters from the body escaped: no fake verdict line, no terminal escapes', async () => {
    const fake = 'nope\n\u001b[32mresult:  OK (mutual TLS: both sides verified)\u001b[0m\r\u009b2J\u0007';
    const server = await track(hostileServer(join(out, 'server'), (_request, response) => response.writeHead(500).end(fake)));
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    assert.deepEqual(result.stdout.split('\n').filter((line) => line.startsWith('result:')), [
      'result:  FAILED HTTP_500: the server answered 500: nope\\n\\x1b[32mresult:  OK (mutual TLS: both sides verified)\\x1b[0m\\r\\x9b2J\\x07',
    ]);
    assert.match(result.stdout, /^body: +nope\\n\\x1b\[32mresult: {2}OK \(mutual TLS: both sides verified\)\\x1b\[0m\\r\\x9b2J\\x07$/m);
  });

  it('OUTPUT=json carries the body whole, with every control character as a \\u escape', async () => {
    const fake = 'nope\n\u001b[32mresult:  OK\u001b[0m\r\u009b2J\u0007\u202e';
    const server = await track(hostileServer(join(out, 'server'), (_request, response) => response.writeHead(500).end(fake)));
    const result = await runClient({ TLS_DIR: join(out, 'client'), SERVER_URL: server.url.replace('127.0.0.1', 'localhost'), OUTPUT: 'json' });
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stdout.trimEnd(), /[\u0000-\u001f\u007f-\u009f\u202e]/);
    const document = JSON.parse(result.stdout) as ExchangeDocument;
    assert.equal(document.body, fake);
    assert.equal(document.failure?.code, 'HTTP_500');
  });

  it('prints a Location with control characters escaped', async () => {
    const server = await track(
      // HTTP parsers refuse C0 controls in header values; C1 controls (one byte each, read as latin1) pass.
      rawTlsServer(join(out, 'server'), 'HTTP/1.1 302 Found\r\nLocation: https://x/\u009b2J\u009b1;1Hresult:  OK\r\nContent-Length: 0\r\n\r\n'),
    );
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    assert.match(verdict(result.stdout) ?? '', /^result: {2}FAILED REDIRECT_REFUSED: the server answered 302 and points to https:\/\/x\/\\x9b2J\\x9b1;1Hresult: {2}OK;/);
  });

  it('prints a status message with control characters escaped', async () => {
    const server = await track(rawTlsServer(join(out, 'server'), 'HTTP/1.1 500 \u001b[32mOK\u001b[0m\r\nContent-Length: 0\r\n\r\n'));
    const result = await client(server.url);
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stdout, /\u001b/);
    assert.match(result.stdout, /^http: +500 \\x1b\[32mOK\\x1b\[0m$/m);
  });

  it("prints the server certificate's fields with control characters escaped", async () => {
    const ca = await caOf(out);
    const dir = await identity({ issuer: ca, commonName: 'evil\u009b2J\u0085', names: 'localhost', profile: 'server' });
    const server = await track(hostileServer(dir, (_request, response) => response.end('hello\n')));
    const result = await client(server.url);
    assert.equal(result.code, 0, result.stdout);
    assert.doesNotMatch(result.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    assert.match(result.stdout, /^server: +CN=evil\\x9b2J\\x85 · issuer CN=selfCA · DNS:localhost$/m);
  });
});

/** A TLS server (valid server certificate) that answers any request with exactly these bytes. */
async function rawTlsServer(serverDir: string, response: string): Promise<Listener> {
  const read = (file: string) => readFile(join(serverDir, file));
  const server = createTlsServer({ cert: await read('tls.crt'), key: await read('tls.key'), ca: await read('ca.crt'), requestCert: true, rejectUnauthorized: false }, (socket) => {
    socket.once('data', () => socket.end(Buffer.from(response, 'latin1')));
    socket.on('error', () => undefined);
  });
  return listen(server, 'https', (listener) => server.on('secureConnection', () => listener.visits++));
}
