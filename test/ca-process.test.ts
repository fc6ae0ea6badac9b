// The CA as its containers run it: `init` and `serve` as real processes, on
// real files. init never replaces a CA key; a restart keeps the CA and its inventory.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CA_MAIN, call, enrollWith, jsonLines, renewWith, runCaCommand, serveProcess, type CaProcess } from './helpers/ca.ts';
import { openssl, ROOT, run, temporaryDirectory } from './helpers/processes.ts';
import { readCaConfig } from '../services/ca/config.ts';
import { runInit } from '../services/ca/init.ts';
import { generateKey, issueCertificate } from '../core/x509.ts';
import { memoryLog } from './helpers/server.ts';

async function fresh(): Promise<{ dir: string; caDir: string; env: NodeJS.ProcessEnv }> {
  const dir = await temporaryDirectory('mtls-ca-process-');
  const caDir = join(dir, 'ca');
  return { dir, caDir, env: { CA_DIR: caDir } };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('ca init', () => {
  it('creates the CA (ECDSA P-256, key 0600 in a 0700 directory) and one token per identity, printing JSON lines without the tokens', async () => {
    const { dir, caDir, env } = await fresh();
    const result = await runCaCommand(env, 'init', '--enroll', `server:server:${dir}/boot/server`, '--enroll', `client:client:${dir}/boot/client`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = jsonLines(result.stdout);
    assert.deepEqual(lines.map((line) => line['event']), ['ca_created', 'serving_certificate_issued', 'token_minted', 'token_minted']);
    assert.equal(lines[0]?.['key'], 'ECDSA P-256');
    assert.deepEqual(lines.slice(2).map((line) => [line['identity'], line['role']]), [['server', 'server'], ['client', 'client']]);
    assert.equal(await mode(caDir), 0o700);
    assert.equal(await mode(join(caDir, 'ca.key')), 0o600);
    assert.equal(await mode(join(caDir, 'tls.key')), 0o600);
    assert.equal(await mode(join(caDir, 'ca.db')), 0o600);
    const caPem = await readFile(join(caDir, 'ca.crt'), 'utf8');
    assert.equal(new X509Certificate(caPem).fingerprint256, lines[0]?.['fingerprint256']);
    for (const identity of ['server', 'client']) {
      const token = await readFile(join(dir, 'boot', identity, 'token'), 'utf8');
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(await mode(join(dir, 'boot', identity, 'token')), 0o600);
      assert.equal(await readFile(join(dir, 'boot', identity, 'ca.crt'), 'utf8'), caPem);
      assert.ok(!result.stdout.includes(token), 'the token is not printed');
    }
  });

  it('run again: keeps the CA key byte for byte, mints a new token only where DIR holds no valid certificate of that identity', async () => {
    const { dir, caDir, env } = await fresh();
    const enroll = ['--enroll', `client:client:${dir}/boot/client`, '--enroll', `server:server:${dir}/boot/server`];
    assert.equal((await runCaCommand(env, 'init', ...enroll)).code, 0);
    const key = await readFile(join(caDir, 'ca.key'));
    const keyInode = (await stat(join(caDir, 'ca.key'))).ino;
    // The client enrolls and keeps its certificate in its directory; the server has not enrolled yet.
    const ca = await serveProcess(env);
    const caPem = await readFile(join(caDir, 'ca.crt'), 'utf8');
    const client = await enrollWith({ port: ca.port, caPem }, await readFile(join(dir, 'boot/client/token'), 'utf8'));
    assert.equal((await ca.stop()).code, 0);
    await writeFile(join(dir, 'boot/client/tls.crt'), client.certificatePem);
    const clientToken = await readFile(join(dir, 'boot/client/token'), 'utf8');
    const serverToken = await readFile(join(dir, 'boot/server/token'), 'utf8');

    const again = await runCaCommand(env, 'init', ...enroll);
    assert.equal(again.code, 0, again.stderr);
    const lines = jsonLines(again.stdout);
    assert.deepEqual(lines.map((line) => line['event']), ['ca_kept', 'already_enrolled', 'token_minted']);
    assert.equal(lines[1]?.['serial'], client.certificate.serialNumber);
    assert.deepEqual(await readFile(join(caDir, 'ca.key')), key);
    assert.equal((await stat(join(caDir, 'ca.key'))).ino, keyInode);
    assert.equal(await readFile(join(dir, 'boot/client/token'), 'utf8'), clientToken);
    assert.notEqual(await readFile(join(dir, 'boot/server/token'), 'utf8'), serverToken);
  });

  it('refuses to replace a CA key whose certificate is missing: exit 1, one line, the key untouched', async () => {
    const { caDir, env } = await fresh();
    assert.equal((await runCaCommand(env, 'init')).code, 0);
    const key = await readFile(join(caDir, 'ca.key'));
    await rm(join(caDir, 'ca.crt'));
    const result = await runCaCommand(env, 'init');
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `ca: ${join(caDir, 'ca.crt')} is missing but ${join(caDir, 'ca.key')} exists: restore ca.crt (the CA key is never replaced)\n`);
    assert.deepEqual(await readFile(join(caDir, 'ca.key')), key);
  });

  it('refuses a CA key that is not a key, or readable by others: exit 1, the file untouched', async () => {
    const { caDir, env } = await fresh();
    assert.equal((await runCaCommand(env, 'init')).code, 0);
    await chmod(join(caDir, 'ca.key'), 0o644);
    const open = await runCaCommand(env, 'init');
    assert.equal(open.code, 1);
    assert.equal(open.stderr, `ca: ${join(caDir, 'ca.key')} is readable by others (mode 644): chmod 600 it\n`);
    await writeFile(join(caDir, 'ca.key'), 'garbage', { mode: 0o600 });
    await chmod(join(caDir, 'ca.key'), 0o600);
    const garbage = await runCaCommand(env, 'init');
    assert.equal(garbage.code, 1);
    assert.equal(garbage.stderr, `ca: ${join(caDir, 'ca.key')} cannot be parsed\n`);
    assert.equal(await readFile(join(caDir, 'ca.key'), 'utf8'), 'garbage');
  });

  const badInput: { args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
    { args: ['init', '--enroll', 'client:superuser:/tmp/x'], message: /the role must be one of server, client, admin, not "superuser"/ },
    { args: ['init', '--enroll', 'client:client'], message: /must look like IDENTITY:ROLE:DIR/ },
    { args: ['init', '--enroll', 'ca:server:/tmp/x'], message: /"ca" is the CA's own name/ },
    { args: ['init', '--enroll', 'localhost:server:/tmp/x'], message: /"localhost" is the CA's own name/ },
    { args: ['init', '--enroll', 'not_a_name:client:/tmp/x'], message: /neither a valid DNS name nor an IP address/ },
    { args: ['init', '--token', 'x'], message: /unknown argument "--token"/ },
    { args: ['init'], env: { CERT_TTL: '15 minutes' }, message: /CERT_TTL must be a positive duration such as 15s, 2m, 1h or 7d, not "15 minutes"/ },
    { args: ['init'], env: { TOKEN_TTL: '0s' }, message: /TOKEN_TTL must be a positive duration/ },
    { args: ['serve'], env: { CA_PORT: '99999' }, message: /CA_PORT must be a whole number from 0 to 65535/ },
    { args: ['sign'], message: /unknown command "sign"/ },
  ];
  for (const { args, env = {}, message } of badInput) {
    it(`refuses ${args.join(' ')} ${JSON.stringify(env)}: exit 2, one line, nothing written`, async () => {
      const { caDir } = await fresh();
      const result = await runCaCommand({ CA_DIR: caDir, ...env }, ...args);
      assert.equal(result.code, 2);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', message);
      await assert.rejects(stat(caDir), { code: 'ENOENT' });
    });
  }
});

describe('ca serve', () => {
  it('refuses to start without init: exit 1, one line', async () => {
    const { caDir, env } = await fresh();
    const result = await runCaCommand({ ...env, CA_PORT: '0' }, 'serve');
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `ca: ${join(caDir, 'ca.key')} is missing: run "init" first to create the CA\n`);
  });

  it('a port already in use: exit 1 and one line saying so (no stack trace)', async () => {
    const { env } = await fresh();
    assert.equal((await runCaCommand(env, 'init')).code, 0);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const result = await runCaCommand({ ...env, CA_PORT: String(port), CA_HOST: '127.0.0.1' }, 'serve');
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `ca: failed: Error: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
      const failed = jsonLines(result.stdout).find((line) => line['event'] === 'failed');
      assert.equal(failed?.['message'], `failed: Error: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
  });

  it('SIGTERM: stops by itself with exit 0 (no forced stop, no SIGKILL), logging shutting_down then stopped', async () => {
    const { env } = await fresh();
    assert.equal((await runCaCommand(env, 'init')).code, 0);
    const ca = await serveProcess(env);
    const { code, signal, lines } = await ca.stop();
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.deepEqual(lines.slice(-2).map((line) => line['event']), ['shutting_down', 'stopped']);
    assert.equal(lines.filter((line) => line['event'] === 'stop_forced').length, 0);
  });

  it('sends no TLS session tickets, as its image runs it (OPENSSL_CONF); without that configuration it sends two per handshake', async () => {
    const { dir, env } = await fresh();
    assert.equal((await runCaCommand(env, 'init')).code, 0);
    const caPem = await readFile(join(dir, 'ca', 'ca.crt'), 'utf8');
    const ticketsFrom = async (ca: CaProcess) => {
      const socket = tls.connect({ host: '127.0.0.1', port: ca.port, servername: 'localhost', ca: caPem, ALPNProtocols: ['http/1.1'] });
      let tickets = 0;
      socket.on('session', () => (tickets += 1));
      await once(socket, 'secureConnect');
      const version = socket.getProtocol();
      socket.end('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      socket.resume();
      await once(socket, 'close');
      return { version, tickets };
    };
    for (const [conf, expected] of [[undefined, 0], ['', 2]] as const) {
      const ca = await serveProcess(conf === undefined ? env : { ...env, OPENSSL_CONF: conf });
      try {
        assert.deepEqual(await ticketsFrom(ca), { version: 'TLSv1.3', tickets: expected }, `OPENSSL_CONF ${conf === undefined ? 'as the image sets it' : 'unset'}`);
      } finally {
        await ca.stop();
      }
    }
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const caTarget = dockerfile.slice(dockerfile.indexOf(' AS ca\n'));
    assert.match(caTarget, /^ENV .*OPENSSL_CONF=\/app\/services\/ca\/openssl\.cnf\b/m, 'the ca image runs with this configuration');
  });

  it('logs a capped CERT_TTL and issues for the cap', async () => {
    const { env, caDir, dir } = await fresh();
    assert.equal((await runCaCommand(env, 'init', '--enroll', `client:client:${dir}/boot`)).code, 0);
    const ca = await serveProcess({ ...env, CERT_TTL: '48h', CERT_TTL_MAX: '1h' });
    try {
      assert.equal(ca.listening['certTtl'], '1h');
      const { certificate } = await enrollWith({ port: ca.port, caPem: await readFile(join(caDir, 'ca.crt'), 'utf8') }, await readFile(join(dir, 'boot/token'), 'utf8'));
      assert.equal(certificate.validToDate.getTime() - certificate.validFromDate.getTime(), 3_600_000 + 5000);
    } finally {
      const { code, lines } = await ca.stop();
      assert.equal(code, 0);
      const capped = lines.find((line) => line['event'] === 'cert_ttl_capped');
      assert.deepEqual([capped?.['level'], capped?.['asked'], capped?.['using']], ['warn', '2d', '1h']);
    }
  });

  it('survives a restart: same CA, inventory intact, a pre-restart certificate renews and a pre-restart token enrolls', async () => {
    const { dir, caDir, env } = await fresh();
    const init = await runCaCommand(env, 'init', '--enroll', `client:client:${dir}/boot/client`, '--enroll', `server:server:${dir}/boot/server`);
    assert.equal(init.code, 0);
    const caPem = await readFile(join(caDir, 'ca.crt'), 'utf8');

    const first = await serveProcess(env);
    const client = await enrollWith({ port: first.port, caPem }, await readFile(join(dir, 'boot/client/token'), 'utf8'));
    const stopped = await first.stop();
    assert.equal(stopped.code, 0);
    assert.deepEqual(stopped.lines.slice(-2).map((line) => line['event']), ['shutting_down', 'stopped']);
    const inventoryBefore = jsonLines((await runCaCommand(env, 'inventory')).stdout).map(({ time: _time, ...record }) => record);

    const second = await serveProcess(env);
    try {
      const endpoint = { port: second.port, caPem };
      assert.equal((await call(endpoint, '/ca.crt')).text, caPem);
      assert.deepEqual(second.listening['ca'], first.listening['ca']);
      const renewed = await renewWith(endpoint, client);
      assert.equal(renewed.reply.status, 201, renewed.reply.text);
      const server = await enrollWith(endpoint, await readFile(join(dir, 'boot/server/token'), 'utf8'), 'server');
      assert.equal(server.certificate.subjectAltName, 'DNS:server');
      const reused = await call(endpoint, '/enroll', { body: { token: await readFile(join(dir, 'boot/client/token'), 'utf8'), csr: 'x' } });
      assert.equal(reused.json?.['error'], 'TOKEN_USED');
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
    const inventoryAfter = jsonLines((await runCaCommand(env, 'inventory')).stdout).map(({ time: _time, ...record }) => record);
    // Everything from before the restart is still there (the renewed one now superseded), plus the two new ones.
    assert.equal(inventoryAfter.length, inventoryBefore.length + 2);
    for (const record of inventoryBefore) {
      const now = inventoryAfter.find((after) => after['serial'] === record['serial']);
      assert.deepEqual(now, record['serial'] === client.certificate.serialNumber ? { ...record, status: 'superseded' } : record);
    }
  });
});

describe("the CA's own serving certificate", () => {
  const DAY = 86_400_000;

  /** init in process, returning the events it logged. */
  async function init(caDir: string): Promise<string[]> {
    const log = memoryLog();
    await runInit(readCaConfig({ CA_DIR: caDir }), [], log);
    return log.events.map((event) => event.event);
  }

  /** Replaces CA_DIR/tls.crt and tls.key with a server certificate for `ca`, signed by `issuerKey`. */
  async function plant(caDir: string, issuer: { certificate: X509Certificate; key: import('node:crypto').KeyObject }, notBefore: Date, notAfter: Date): Promise<string> {
    const key = await generateKey({ type: 'ecdsa' });
    const pem = issueCertificate({ profile: 'server', commonName: 'ca', names: [{ type: 'dns', value: 'ca' }], publicKey: key, issuer, notBefore, notAfter });
    await writeFile(join(caDir, 'tls.crt'), pem);
    await writeFile(join(caDir, 'tls.key'), key.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    return new X509Certificate(pem).serialNumber;
  }

  it('is kept while fresh, and re-issued in the last third of its life or when another CA signed it', async () => {
    const { caDir } = await fresh();
    assert.deepEqual(await init(caDir), ['ca_created', 'serving_certificate_issued']);
    const first = new X509Certificate(await readFile(join(caDir, 'tls.crt')));
    assert.equal(first.subjectAltName, 'DNS:ca, DNS:localhost, IP Address:127.0.0.1');
    assert.deepEqual(await init(caDir), ['ca_kept']);

    const ours = { certificate: new X509Certificate(await readFile(join(caDir, 'ca.crt'))), key: createPrivateKey(await readFile(join(caDir, 'ca.key'))) };
    const now = Date.now();
    const aging = await plant(caDir, ours, new Date(now - 25 * DAY), new Date(now + 5 * DAY));
    assert.deepEqual(await init(caDir), ['ca_kept', 'serving_certificate_issued']);
    assert.notEqual(new X509Certificate(await readFile(join(caDir, 'tls.crt'))).serialNumber, aging);

    const otherKey = await generateKey({ type: 'ecdsa' });
    const other = new X509Certificate(issueCertificate({ profile: 'ca', commonName: 'mtls-demo lifecycle CA', names: [], publicKey: otherKey, subjectKey: otherKey, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) }));
    await plant(caDir, { certificate: other, key: otherKey }, new Date(now - DAY), new Date(now + 29 * DAY));
    assert.deepEqual(await init(caDir), ['ca_kept', 'serving_certificate_issued']);
    assert.ok(new X509Certificate(await readFile(join(caDir, 'tls.crt'))).checkIssued(ours.certificate));
  });
});

describe('ca init killed half-way through writing the CA (SIGKILL right before or after a rename or link)', () => {
  const RENAME_HOOKS = join(ROOT, 'test/helpers/rename-hooks.ts');
  const points = [
    { when: 'before', to: '/ca/.committed', committed: false },
    { when: 'after', to: '/ca/.committed', committed: true },
    { when: 'after', to: '/ca/ca.key', committed: true },
    { when: 'before', to: '/ca/ca.crt', committed: true },
    { when: 'after', to: '/ca/ca.crt', committed: true },
  ] as const;

  async function publicKeyOf(...args: string[]): Promise<string> {
    const result = await openssl(...args);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  }

  for (const { when, to, committed } of points) {
    it(`killed ${when} ${to}: the next init ${committed ? 'finishes installing that CA' : 'removes the half-written one and creates a CA'}, key and certificate a pair`, async () => {
      const { caDir, env } = await fresh();
      const hook = when === 'before' ? 'PKI_TEST_KILL_BEFORE_RENAME_TO' : 'PKI_TEST_KILL_AFTER_RENAME_TO';
      const killed = await run(process.execPath, ['--import', RENAME_HOOKS, CA_MAIN, 'init'], { env: { ...process.env, ...env, [hook]: to } }).then(
        (result) => ({ signal: null, ...result }),
        (error: { signal?: string }) => ({ signal: error.signal ?? null }),
      );
      assert.equal(killed.signal, 'SIGKILL', `killed ${when} ${to}: ${JSON.stringify(killed)}`);
      const written = await readdir(caDir);

      const next = await runCaCommand(env, 'init');
      assert.equal(next.code, 0, next.stderr);
      const events = jsonLines(next.stdout).map((line) => line['event']);
      assert.equal(events[events.includes('ca_recovered') ? 1 : 0], committed ? 'ca_kept' : 'ca_created', `${JSON.stringify(written)}: ${next.stdout}`);
      const fromKey = await publicKeyOf('pkey', '-in', join(caDir, 'ca.key'), '-pubout');
      assert.equal(await publicKeyOf('x509', '-in', join(caDir, 'ca.crt'), '-pubkey', '-noout'), fromKey, 'ca.key matches ca.crt');
      assert.equal(await mode(join(caDir, 'ca.key')), 0o600);
      assert.deepEqual((await readdir(caDir)).filter((name) => name.startsWith('.')), [], 'nothing half-written left in CA_DIR');
      assert.equal((await runCaCommand(env, 'init')).code, 0, 'and it stays usable');
    });
  }
});
