// The real server process: start-up refusals, hot reload, and signals.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { privateKeyToPem } from '../core/key-types.ts';
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
    {
      // A valid certificate followed by 1 MiB of padding: each reload would read (and keep) it all.
      name: 'a tls.crt larger than 1 MiB',
      dir: async () => variant(server, 'tls.crt', `${await readFile(join(server, 'tls.crt'), 'utf8')}${'#'.repeat(1024 * 1024)}\n`),
      message: /tls\.crt: larger than 1 MiB: not a certificate or key file$/,
    },
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
    { env: { TLS_DIR: server, ALLOWED_CLIENTS: 'client,10.0.0.1' }, message: 'server: ALLOWED_CLIENTS: "10.0.0.1" is neither a DNS name nor a URI with a scheme' },
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
    it(`exits 0 on ${signal} by itself (no SIGKILL needed, no forced stop), even with a kept-alive connection open`, async () => {
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
      const stopped = nextEvent(child, 'stopped');
      const ended = endingOf(child);
      child.kill(signal);
      const ending = await ended;
      agent.destroy();
      assert.deepEqual(ending, { code: 0, signal: null, killedByTest: false });
      // The clean path ("stopped"), not the grace period's forced stop ("stop_forced", SIGKILL).
      assert.equal((await stopped)['event'], 'stopped');
    });
  }
});

/** Our server on fresh method1 material, and request options for its client going through `agent`. */
async function reloadingServer(agent: https.Agent) {
  const out = await issue('method1');
  const server = await startTestServer(join(out, 'server'));
  const client = (file: string) => readFile(join(out, 'client', file));
  const options = { agent, cert: await client('tls.crt'), key: await client('tls.key'), ca: await client('ca.crt') };
  // Disposing of the whole closes the server and the agent's connections.
  return {
    out,
    server,
    options,
    async [Symbol.asyncDispose]() {
      agent.destroy();
      await server.close();
    },
  };
}

describe('the server reloads its certificates without a restart', () => {
  it('serves a re-issued certificate to new connections while an open connection keeps working', async () => {
    await using reloading = await reloadingServer(new https.Agent({ keepAlive: true, maxSockets: 1 }));
    const { out, server, options } = reloading;
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
  });

  it('refuses broken material, logs why, and keeps the old certificate in service', async () => {
    await using reloading = await reloadingServer(freshConnections());
    const { out, server, options } = reloading;
    const before = await fingerprintOf(server.url(), options);
    await writeFile(join(out, 'server', 'tls.key'), await readFile(join(out, 'client', 'tls.key')));
    const refused = await server.log.waitFor((event) => event.event === 'tls_reload_refused');
    assert.equal(refused['problem'], 'does not match the certificate in tls.crt');
    assert.equal(refused['keeping'], before);
    assert.equal(await fingerprintOf(server.url(), options), before);
  });

  it('refuses material that OpenSSL itself rejects (a 1024-bit key), and keeps serving', async () => {
    await using reloading = await reloadingServer(freshConnections());
    const { out, server, options } = reloading;
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
  });
});

/** The health listener's port, as the server logged it (HEALTH_PORT=0 takes any free port). */
function healthPortOf(listening: Record<string, unknown>): string {
  const { hostname, port, pathname } = new URL(String(listening['health']));
  assert.equal(`${hostname}${pathname}`, '127.0.0.1/healthz');
  assert.notEqual(port, '0');
  return port;
}

describe('the server answers a health probe on its loopback port', () => {
  it('healthcheck.ts exits 0 against the running server and 1 when it is gone', async () => {
    const out = await issue('method1');
    let healthPort = '';
    const probe = () => run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env: { ...process.env, TLS_DIR: join(out, 'server'), HEALTH_PORT: healthPort } });
    {
      await using child = serverProcess({ ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1' });
      healthPort = healthPortOf(await nextEvent(child, 'listening'));
      const healthy = await probe();
      assert.equal(healthy.code, 0, healthy.stderr);
    }
    const gone = await probe();
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^healthcheck: connect ECONNREFUSED/);
  });
});

describe('the health probe checks what is served, not what is on disk', () => {
  it('stays healthy after a refused reload (a broken tls.crt on disk, the old certificate still served)', async () => {
    const out = await issue('method1');
    const env = { ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1' };
    await using child = serverProcess(env);
    let healthPort = '';
    const probe = () => run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env: { ...env, HEALTH_PORT: healthPort } });
    healthPort = healthPortOf(await nextEvent(child, 'listening'));
    assert.equal((await probe()).code, 0);
    const refused = nextEvent(child, 'tls_reload_refused');
    await writeFile(join(out, 'server', 'tls.crt'), 'half-written\n');
    assert.match(String((await refused)['problem']), /not PEM/);
    const after = await probe();
    assert.equal(after.code, 0, after.stderr);
  });
  it('stays healthy after a refused reload of ca.crt (garbage on disk: the probe does not trust files)', async () => {
    const out = await issue('method1');
    const healthPort = String(20_000 + Math.floor(Math.random() * 20_000));
    const env = { ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: healthPort, HOST: '127.0.0.1' };
    const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const probe = () => run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env });
    try {
      await nextEvent(child, 'listening');
      const refused = nextEvent(child, 'tls_reload_refused');
      await writeFile(join(out, 'server', 'ca.crt'), 'garbage\n');
      const logged = await refused;
      assert.equal(logged['file'], join(out, 'server', 'ca.crt'));
      assert.equal(logged['problem'], 'not PEM (no "-----BEGIN" line)');
      const after = await probe();
      assert.equal(after.stderr, '');
      assert.equal(after.code, 0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  it('turns unhealthy once the served certificate expires (checked on the presented certificate, not on a file)', async () => {
    const out = await issue('method1');
    const expiresAt = Date.now() + 3000;
    const dir = await identity({ issuer: await caOf(out), commonName: 'server', names: 'localhost', profile: 'server', validity: { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(expiresAt) } });
    const healthPort = String(20_000 + Math.floor(Math.random() * 20_000));
    const env = { ...process.env, TLS_DIR: dir, PORT: '0', HEALTH_PORT: healthPort, HOST: '127.0.0.1' };
    const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const probe = () => run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env });
    try {
      await nextEvent(child, 'listening');
      await sleep(Math.max(0, expiresAt + 1500 - Date.now()));
      const after = await probe();
      assert.equal(after.code, 1);
      assert.match(after.stderr, /^healthcheck: the served certificate: expired on \d{4}-/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  it('fails when the listener presents another certificate than the one it reports serving', async () => {
    const out = await issue('method1');
    const other = await readFile(join(await issue('method1'), 'server', 'tls.crt'));
    const reported = new X509Certificate(other).fingerprint256;
    const server = join(out, 'server');
    const impostor = https.createServer({ cert: await readFile(join(server, 'tls.crt')), key: await readFile(join(server, 'tls.key')) }, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', serving: reported }));
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const healthPort = String((impostor.address() as { port: number }).port);
      const result = await run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env: { ...process.env, HEALTH_PORT: healthPort } });
      const presented = new X509Certificate(await readFile(join(server, 'tls.crt'))).fingerprint256;
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `healthcheck: the health listener presents ${presented}, the server serves ${reported}\n`);
    } finally {
      impostor.close();
    }
  });
});

describe('outside a container, the health listener is off unless HEALTH_PORT is set', () => {
  it('two servers on two ports both start (no second listener fights over a default health port)', async () => {
    const out = await issue('method1');
    const { HEALTH_PORT: _unset, ...env } = process.env;
    const start = () => serverProcess({ ...env, TLS_DIR: join(out, 'server'), PORT: '0', HOST: '127.0.0.1' });
    await using first = start();
    await using second = start();
    const [one, two] = await Promise.all([nextEvent(first, 'listening'), nextEvent(second, 'listening')]);
    assert.notEqual(one['url'], two['url']);
    assert.equal(one['health'], null);
  });

  it('the probe says so when HEALTH_PORT is unset: exit 1, one line', async () => {
    const out = await issue('method1');
    const { HEALTH_PORT: _unset, ...env } = process.env;
    const result = await run(process.execPath, [join(ROOT, 'services/server/healthcheck.ts')], { env: { ...env, TLS_DIR: join(out, 'server') } });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'healthcheck: HEALTH_PORT is not set: the server has no health listener to probe\n');
  });
});

/** How a child process ended; `killedByTest` when it was still running after 10 s and the test had to SIGKILL it. */
interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  killedByTest: boolean;
}

function endingOf(child: ChildProcess): Promise<Ending> {
  return new Promise((resolve) => {
    let killedByTest = false;
    const timer = setTimeout(() => {
      killedByTest = true;
      child.kill('SIGKILL');
    }, 10_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, killedByTest });
    });
  });
}

/** Resolves with the exit code, or null if it had to be killed after 10 s. */
async function exitOf(child: ChildProcess): Promise<number | null> {
  const ending = await endingOf(child);
  return ending.killedByTest ? null : ending.code;
}

describe('a FIFO planted as tls.crt', () => {
  it('is refused at start-up without blocking: exit 1, one line', async () => {
    const out = await issue('method1');
    const dir = await variant(join(out, 'server'), 'tls.crt', '');
    await rm(join(dir, 'tls.crt'));
    assert.equal((await run('mkfifo', [join(dir, 'tls.crt')])).code, 0);
    const child = spawn(process.execPath, [SERVER], { env: { ...process.env, TLS_DIR: dir, PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    assert.equal(await exitOf(child), 1);
    assert.equal(stderr, `server: ${join(dir, 'tls.crt')}: not a regular file (a FIFO)\n`);
  });

  it('is refused on reload without blocking, and SIGTERM still ends the process (exit 0)', async () => {
    const out = await issue('method1');
    const dir = join(out, 'server');
    const child = spawn(process.execPath, [SERVER], { env: { ...process.env, TLS_DIR: dir, PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = exitOf(child);
    await nextEvent(child, 'listening');
    const refused = nextEvent(child, 'tls_reload_refused');
    await rm(join(dir, 'tls.crt'));
    assert.equal((await run('mkfifo', [join(dir, 'tls.crt')])).code, 0);
    const logged = await refused;
    assert.equal(logged['problem'], 'not a regular file (a FIFO)');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

describe('a FIFO swapped in for tls.crt right after the server opened it (the check-then-read race, won every time)', () => {
  const HOOK = join(ROOT, 'test/helpers/fifo-swap-hook.ts');

  /** A server whose second open of tls.crt (its first reload) is followed at once by a FIFO at that path. */
  async function racedServer() {
    const out = await issue('method1');
    const dir = join(out, 'server');
    const env = { ...process.env, TLS_DIR: dir, PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1', NODE_OPTIONS: `--import=${HOOK}`, MTLS_TEST_FIFO_AFTER_OPEN: join(dir, 'tls.crt') };
    const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ended = endingOf(child);
    const certificatePem = await readFile(join(dir, 'tls.crt'));
    await nextEvent(child, 'listening');
    const planted = nextEvent(child, 'test_fifo_planted');
    child.kill('SIGHUP');
    await planted;
    return { dir, child, ended, certificatePem };
  }

  it('later reloads still run: the FIFO is refused, then a repaired tls.crt with a new ca.crt is loaded', async () => {
    const { dir, child, ended, certificatePem } = await racedServer();
    try {
      const ownCa = await readFile(join(dir, 'ca.crt'));
      const otherCa = await readFile(join(await issue('method1'), 'server', 'ca.crt'));
      await writeFile(join(dir, 'ca.crt'), Buffer.concat([ownCa, otherCa]));
      const refused = nextEvent(child, 'tls_reload_refused');
      child.kill('SIGHUP');
      const logged = await refused;
      assert.equal(logged['file'], join(dir, 'tls.crt'));
      assert.equal(logged['problem'], 'not a regular file (a FIFO)');

      await writeFile(join(dir, 'tls.crt.new'), certificatePem);
      await rename(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
      const trustChanged = nextEvent(child, 'trust_changed');
      const reloaded = nextEvent(child, 'tls_reloaded');
      child.kill('SIGHUP');
      const after = (await trustChanged)['after'] as { fingerprint256: string }[];
      assert.deepEqual(after.map((ca) => ca.fingerprint256), [new X509Certificate(ownCa).fingerprint256, new X509Certificate(otherCa).fingerprint256]);
      await reloaded;
    } finally {
      child.kill('SIGTERM');
    }
    assert.deepEqual(await ended, { code: 0, signal: null, killedByTest: false });
  });

  it('SIGTERM ends the process: exit 0, no SIGKILL needed', async () => {
    const { child, ended } = await racedServer();
    // Let the raced reload (and one more) run into the FIFO if they are going to: up to 3 s.
    const refused = nextEvent(child, 'tls_reload_refused');
    child.kill('SIGHUP');
    await Promise.race([refused, sleep(3000)]).catch(() => undefined);
    const stopped = nextEvent(child, 'stopped');
    child.kill('SIGTERM');
    await stopped;
    assert.deepEqual(await ended, { code: 0, signal: null, killedByTest: false });
  });
});

describe('a stop that cannot finish (connections never close, a worker thread blocked on a FIFO)', () => {
  it('ends the process anyway: stop_forced is logged, then the process kills itself (no SIGKILL from the test)', async () => {
    const out = await issue('method1');
    const fifo = join(await temporaryDirectory('mtls-fifo-'), 'nobody-writes');
    assert.equal((await run('mkfifo', [fifo])).code, 0);
    const env = {
      ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1', SHUTDOWN_GRACE_MS: '0',
      NODE_OPTIONS: `--import=${join(ROOT, 'test/helpers/stuck-stop-hook.ts')}`, MTLS_TEST_BLOCKING_FIFO: fifo,
    };
    const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ended = endingOf(child);
    await nextEvent(child, 'listening');
    const forced = nextEvent(child, 'stop_forced');
    child.kill('SIGTERM');
    assert.equal((await forced)['afterMs'], 2000);
    assert.deepEqual(await ended, { code: null, signal: 'SIGKILL', killedByTest: false });
  });
});

describe('a private key others may read', () => {
  /** Every event the server logged up to and including "listening". */
  async function startupEvents(tlsDir: string): Promise<Record<string, unknown>[]> {
    let output = '';
    {
      await using child = serverProcess({ ...process.env, TLS_DIR: tlsDir, PORT: '0', HEALTH_PORT: '0', HOST: '127.0.0.1' });
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await nextEvent(child, 'listening');
    }
    return output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('is warned about at start-up (tls.key 0640), and the server still starts', async () => {
    const out = await issue('method1');
    const dir = await variant(join(out, 'server'), 'tls.crt', await readFile(join(out, 'server', 'tls.crt')));
    await chmod(join(dir, 'tls.key'), 0o640);
    const events = await startupEvents(dir);
    const warned = events.find((event) => event['event'] === 'tls_key_exposed');
    assert.equal(warned?.['level'], 'warn');
    assert.equal(warned?.['file'], join(dir, 'tls.key'));
    assert.equal(warned?.['mode'], '0640');
    assert.equal(warned?.['fix'], `chmod 600 ${join(dir, 'tls.key')}`);
    assert.ok(events.some((event) => event['event'] === 'listening'));
  });

  it('is not warned about when tls.key is 0600 (as the PKI writes it)', async () => {
    const out = await issue('method1');
    const events = await startupEvents(join(out, 'server'));
    assert.ok(events.some((event) => event['event'] === 'listening'));
    assert.equal(events.find((event) => event['event'] === 'tls_key_exposed'), undefined);
  });
});

/** Our server as a process; `await using` ends it with SIGTERM and waits for its exit. */
function serverProcess(env: NodeJS.ProcessEnv): ChildProcess & AsyncDisposable {
  const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  });
}

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
 * New connections with full handshakes: a resumed TLS session brings back the
 * certificates of the session it resumes (from the ticket), so it could not
 * show which one the server presents now.
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
