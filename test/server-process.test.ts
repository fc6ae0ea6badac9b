// The real server process: start-up refusals, hot reload, and signals.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { privateKeyToPem } from '../pki/keys.ts';
import type { TLSSocket } from 'node:tls';
import { caOf, expiredSince, identity, identityByOpenssl, issue, validFromIn } from './helpers/material.ts';
import { ROOT, run, runPkiCommand, temporaryDirectory } from './helpers/processes.ts';
import { startTestServer } from './helpers/server.ts';

const SERVER = join(ROOT, 'services/server/main.ts');

function startServerProcess(env: NodeJS.ProcessEnv) {
  return run(process.execPath, [SERVER], { env: { ...process.env, PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1', ...env } });
}

/** A copy of a tls folder with one file replaced. */
async function variant(source: string, file: string, content: string | Buffer): Promise<string> {
  const dir = await temporaryDirectory('mtls-variant-');
  for (const name of ['tls.crt', 'tls.key', 'ca.crt']) await copyFile(join(source, name), join(dir, name));
  await writeFile(join(dir, file), content);
  return dir;
}

describe('the server refuses to start, naming the file and the problem', async () => {
  const out = await issue('method1');
  const server = join(out, 'server');
  const ca = await caOf(out);
  const cases: { name: string; dir: () => Promise<string>; message: RegExp }[] = [
    { name: 'missing material', dir: async () => join(out, 'nowhere'), message: /nowhere\/tls\.crt: missing$/ },
    { name: 'a certificate that is not PEM', dir: () => variant(server, 'tls.crt', 'hello'), message: /tls\.crt: not PEM \(no "-----BEGIN" line\)$/ },
    { name: 'a key that is not a key', dir: () => variant(server, 'tls.key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), message: /tls\.key: not a valid PEM private key$/ },
    { name: 'a key that does not match', dir: async () => variant(server, 'tls.key', await readFile(join(out, 'client', 'tls.key'))), message: /tls\.key: does not match the certificate in tls\.crt$/ },
    { name: 'a missing ca.crt', dir: async () => { const dir = await variant(server, 'ca.crt', ''); await rm(join(dir, 'ca.crt')); return dir; }, message: /ca\.crt: missing$/ },
    {
      name: 'an expired certificate',
      dir: async () => identity({ issuer: ca, commonName: 'server', names: 'localhost', profile: 'server', validity: expiredSince(2) }),
      message: /tls\.crt: expired on \d{4}-/,
    },
    {
      name: 'a certificate not valid yet',
      dir: async () => identity({ issuer: ca, commonName: 'server', names: 'localhost', profile: 'server', validity: validFromIn(2) }),
      message: /tls\.crt: not valid yet \(valid from \d{4}-/,
    },
    {
      name: 'a client certificate (no serverAuth)',
      dir: async () => join(out, 'client'),
      message: /client\/tls\.crt: not usable as a server certificate: its extended key usage lacks serverAuth$/,
    },
  ];
  for (const { name, dir, message } of cases) {
    it(`refuses ${name}: exit 1, one line on stderr`, async () => {
      const result = await startServerProcess({ TLS_DIR: await dir() });
      assert.equal(result.code, 1);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', /^server: /);
      assert.match(lines[0] ?? '', message);
      const logged = JSON.parse(result.stdout.trim()) as Record<string, unknown>;
      assert.equal(logged['event'], 'startup_failed');
    });
  }

  const configCases: { env: NodeJS.ProcessEnv; message: string }[] = [
    { env: { TLS_DIR: '' }, message: 'server: TLS_DIR is required (e.g. TLS_DIR=out/method1/server)' },
    { env: { TLS_DIR: server, PORT: '70000' }, message: 'server: PORT must be a whole number from 0 to 65535, not "70000"' },
    { env: { TLS_DIR: server, PORT: 'http' }, message: 'server: PORT must be a whole number from 0 to 65535, not "http"' },
    { env: { TLS_DIR: server, ALLOWED_CLIENTS: 'client,,bob' }, message: 'server: ALLOWED_CLIENTS must be a comma-separated list of names, not "client,,bob"' },
  ];
  for (const { env, message } of configCases) {
    it(`refuses ${JSON.stringify(env)}: exit 2`, async () => {
      const result = await startServerProcess(env);
      assert.equal(result.code, 2);
      assert.equal(result.stderr.trim(), message);
    });
  }
});

describe('the server does not half-start', () => {
  for (const which of ['PORT', 'HEALTH_PORT'] as const) {
    it(`exits 1, serving nothing, when ${which} is taken`, async () => {
      const out = await issue('method1');
      const taken = createServer().listen(0, '127.0.0.1');
      await once(taken, 'listening');
      const port = String((taken.address() as { port: number }).port);
      try {
        const env = which === 'PORT' ? { PORT: port } : { HEALTH_PORT: port };
        const result = await run(process.execPath, [SERVER], { env: { ...process.env, TLS_DIR: join(out, 'server'), HOST: '127.0.0.1', PORT: '0', ...env } });
        assert.equal(result.code, 1);
        assert.match(result.stderr.trim(), /^server: cannot start: Error: listen EADDRINUSE/);
      } finally {
        taken.close();
      }
    });
  }
});

describe('the server process stops cleanly', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`exits 0 on ${signal} within a second, even with a kept-alive connection open`, async () => {
      const out = await issue('method1');
      const child = spawn(process.execPath, [SERVER], {
        env: { ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const listening = await nextEvent(child, 'listening');
      const port = Number(new URL(String(listening['url'])).port);
      const agent = new https.Agent({ keepAlive: true });
      const client = (file: string) => readFile(join(out, 'client', file));
      const body = await get(`https://localhost:${port}/`, { agent, cert: await client('tls.crt'), key: await client('tls.key'), ca: await client('ca.crt') });
      assert.equal(body, 'Hello client, from server (mTLS verified)\n');
      const started = Date.now();
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
      agent.destroy();
      assert.equal(code, 0);
      assert.ok(Date.now() - started < 1000, `stopped in ${Date.now() - started} ms`);
    });
  }
});

/** Our server on fresh method1 material, and request options for its client going through `agent`. */
async function reloadingServer(agent: https.Agent) {
  const out = await issue('method1');
  const server = await startTestServer(join(out, 'server'));
  const client = (file: string) => readFile(join(out, 'client', file));
  const options = { agent, cert: await client('tls.crt'), key: await client('tls.key'), ca: await client('ca.crt') };
  return { out, server, options };
}

describe('the server reloads its certificates without a restart', () => {
  it('serves a re-issued certificate to new connections while an open connection keeps working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const { out, server, options } = await reloadingServer(agent);
    try {
      const before = await fingerprintOf(server.url(), options);
      // The PKI re-issues only the server's certificate; the CA (and so the client's trust) stays.
      await rm(join(out, 'server', 'tls.crt'));
      const reissued = await runPkiCommand('--method', 'method1', '--out', out);
      assert.match(reissued.stdout, /server +issued/);
      const reloaded = await server.log.waitFor((event) => event.event === 'tls_reloaded');
      const fresh = await fingerprintOf(server.url(), { ...options, agent: freshConnections() });
      assert.notEqual(fresh, before);
      assert.equal((reloaded['certificate'] as { fingerprint256: string }).fingerprint256, fresh);
      // The kept-alive connection was made with the old certificate and still answers.
      assert.equal(await fingerprintOf(server.url(), options), before);
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it('refuses broken material, logs why, and keeps the old certificate in service', async () => {
    const { out, server, options } = await reloadingServer(freshConnections());
    try {
      const before = await fingerprintOf(server.url(), options);
      await writeFile(join(out, 'server', 'tls.key'), await readFile(join(out, 'client', 'tls.key')));
      const refused = await server.log.waitFor((event) => event.event === 'tls_reload_refused');
      assert.equal(refused['problem'], 'does not match the certificate in tls.crt');
      assert.equal(refused['keeping'], before);
      assert.equal(await fingerprintOf(server.url(), options), before);
    } finally {
      await server.close();
    }
  });

  it('refuses material that OpenSSL itself rejects (a 1024-bit key), and keeps serving', async () => {
    const { out, server, options } = await reloadingServer(freshConnections());
    try {
      const before = await fingerprintOf(server.url(), options);
      // Parses, matches, valid, serverAuth: only OpenSSL's own policy ("ee key too small") says no.
      // Our builder refuses to certify such a key; the openssl CLI does not.
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const weak = await identityByOpenssl({ issuer: await caOf(out), commonName: 'server', names: 'localhost', profile: 'server', key: privateKey });
      await writeFile(join(out, 'server', 'tls.key'), privateKeyToPem(privateKey));
      await writeFile(join(out, 'server', 'tls.crt'), await readFile(join(weak, 'tls.crt')));
      const refused = await server.log.waitFor((event) => event.event === 'tls_reload_refused');
      assert.match(String(refused['problem']), /key too small/);
      assert.equal(refused['keeping'], before);
      assert.equal(await fingerprintOf(server.url(), options), before);
    } finally {
      await server.close();
    }
  });
});

describe('the server answers a health probe on its loopback port', () => {
  it('healthcheck.ts exits 0 against the running server and 1 when it is gone', async () => {
    const out = await issue('method1');
    const healthPort = String(20_000 + Math.floor(Math.random() * 20_000));
    const child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: healthPort, HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const probe = () => run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env: { ...process.env, TLS_DIR: join(out, 'server'), HEALTH_PORT: healthPort } });
    try {
      await nextEvent(child, 'listening');
      const healthy = await probe();
      assert.equal(healthy.code, 0, healthy.stderr);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    const gone = await probe();
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^healthcheck: connect ECONNREFUSED/);
  });
});

async function nextEvent(child: ChildProcess, name: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no "${name}" event: ${buffered}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (line.includes(`"event":"${name}"`)) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as Record<string, unknown>);
        }
      }
    });
  });
}

function get(url: string, options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, options, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/**
 * New connections with full handshakes: a resumed TLS session carries no
 * certificate, so it could not show which one the server now presents.
 */
function freshConnections(): https.Agent {
  return new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
}

// Read once per connection: a kept-alive socket no longer reports its peer certificate on later requests.
const presented = new WeakMap<TLSSocket, string>();

/** The SHA-256 fingerprint of the certificate the server presented on the connection used (after a 200). */
function fingerprintOf(url: string, options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, options, (response) => {
      const socket = response.socket as TLSSocket;
      if (!presented.has(socket)) presented.set(socket, socket.getPeerX509Certificate()?.fingerprint256 ?? 'none');
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve(presented.get(socket) as string) : reject(new Error(`HTTP ${response.statusCode}`))));
    }).on('error', reject);
  });
}
