// The agent as a real process against our real CA on loopback: enrollment with the
// one-time token, renewals with a new key at about 2/3 of the lifetime, a CA outage,
// and the answers it must refuse to install.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCaConfig, readEnrollmentRequests, type CaConfig } from '../services/ca/config.ts';
import { runInit } from '../services/ca/init.ts';
import { startCa, type RunningCa } from '../services/ca/serve.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { runAgent, type AgentDeps } from '../services/agent/agent.ts';
import { CaError, enroll as enrollAt, renew as renewAt, type Issued } from '../services/agent/ca-client.ts';
import { readAgentConfig, type AgentConfig } from '../services/agent/config.ts';
import { createCsr, generateKey } from '../core/x509.ts';
import { startEventProcess, type Event, type EventProcess } from './helpers/events.ts';
import { openssl, ROOT, run, temporaryDirectory } from './helpers/processes.ts';
import { memoryLog } from './helpers/server.ts';

const AGENT = join(ROOT, 'services/agent/main.ts');

/** Our CA in process, on a loopback port, with a 6 s certificate lifetime (11 s with the CA's 5 s backdating). */
class TestCa {
  config: CaConfig;
  running: RunningCa | undefined;
  port = 0;

  constructor(dir: string) {
    this.config = readCaConfig({ CA_DIR: join(dir, 'ca'), CA_PORT: '0', CA_HOST: '127.0.0.1', CERT_TTL: '6s' });
  }

  /** `init` without enrollments: the CA key, certificate and database, created once. */
  async init(): Promise<void> {
    await runInit(this.config, [], memoryLog());
  }

  async start(): Promise<void> {
    this.running = await startCa({ ...this.config, port: this.port }, memoryLog());
    this.port = this.running.port;
  }

  async stop(): Promise<void> {
    await this.running?.close(0);
    this.running = undefined;
  }

  /** init --enroll IDENTITY:ROLE:DIR, as the compose profile's init does; returns DIR. */
  async bootstrap(identity: string, role: string): Promise<string> {
    const dir = join(await temporaryDirectory('agent-bootstrap-'), identity);
    await runInit(this.config, readEnrollmentRequests(['--enroll', `${identity}:${role}:${dir}`]), memoryLog());
    return dir;
  }

  get url(): string {
    return `https://localhost:${this.port}/`;
  }
}

function startAgent(ca: TestCa, env: NodeJS.ProcessEnv): EventProcess {
  return startEventProcess(AGENT, { CA_URL: ca.url, RETRY_MIN_MS: '200', RETRY_MAX_MS: '2000', ...env });
}

const named = (name: string) => (event: Event) => event.event === name;

/**
 * The agent in process against the test CA (real requests, real volume), its events
 * recorded, stopped at the first event `stopAt` picks. `run(onAnswer)` lets a test see
 * each answer of the CA before the agent does: to lose it (throw) or crash on it.
 */
function inProcessAgent(config: AgentConfig, stopAt: (event: string, fields: Record<string, unknown> | undefined) => boolean) {
  const events: Event[] = [];
  const stop = new AbortController();
  const endpoint = { url: config.caUrl, timeoutMs: config.timeoutMs };
  const deps = (onAnswer: (kind: 'enroll' | 'renew', issued: Issued) => Promise<void>): AgentDeps => ({
    emit: (event, fields) => {
      events.push({ event, ...fields } as Event);
      if (stopAt(event, fields)) stop.abort();
    },
    now: () => new Date(),
    random: Math.random,
    sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
    newKey: () => generateKey({ type: 'ecdsa', curve: 'P-256' }),
    csr: (key, identity) => createCsr({ key, commonName: identity, names: [{ type: 'dns', value: identity }] }),
    keyPem: (key) => key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    async enroll(trustPem, token, csr) {
      const issued = await enrollAt({ ...endpoint, trustPem }, token, csr);
      await onAnswer('enroll', issued);
      return issued;
    },
    async renew(trustPem, current, csr) {
      const issued = await renewAt({ ...endpoint, trustPem }, current, csr);
      await onAnswer('renew', issued);
      return issued;
    },
  });
  return { events, run: (onAnswer: (kind: 'enroll' | 'renew', issued: Issued) => Promise<void> = async () => undefined) => runAgent(config, deps(onAnswer), stop.signal) };
}

describe('the agent against our CA', () => {
  let ca: TestCa;
  before(async () => {
    ca = new TestCa(await temporaryDirectory('agent-ca-'));
    await ca.init();
    await ca.start();
  });
  after(() => ca.stop());

  it('enrolls with its token, then renews at about 2/3 of the lifetime with a new key each time; only the current generation stays', async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const agent = startAgent(ca, { TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('server', 'server'), IDENTITY: 'server', ROLE: 'server' });
    let events: Event[];
    try {
      const enrolled = await agent.waitFor(named('enrolled'));
      await agent.waitFor((event) => agent.events.filter(named('renewed')).length >= 2 && event.event === 'renewed');
      events = agent.events.filter((event) => ['enrolled', 'renewed'].includes(event.event));
      assert.equal(events[0], enrolled);
    } finally {
      assert.equal(await agent.stop(), 0, agent.stderr());
    }
    for (const [previous, next] of events.slice(0, 3).map((event, i) => [event, events[i + 1]] as const).slice(0, 2)) {
      assert.ok(next !== undefined);
      assert.notEqual(next['publicKeyFingerprint'], previous['publicKeyFingerprint'], 'a renewal kept the key');
      assert.equal(next['previousPublicKeyFingerprint'], previous['publicKeyFingerprint']);
      assert.equal(next['previousSerial'], previous['serial']);
      // Renewed once 62-67% of the previous certificate's lifetime had passed, not before.
      const [from, to] = [Date.parse(String(previous['notBefore'])), Date.parse(String(previous['notAfter']))];
      assert.ok(Date.parse(String(next['time'])) >= from + 0.61 * (to - from), `renewed too early: ${JSON.stringify(next)}`);
      assert.ok(Date.parse(String(next['time'])) < to, 'renewed only after the certificate expired');
    }
    // What is in the volume is the last certificate, its key, ECDSA P-256 by default, 0600.
    const last = events.at(-1) as Event;
    const certificate = new X509Certificate(await readFile(join(tls, 'tls.crt')));
    assert.equal(certificate.serialNumber, last['serial']);
    assert.equal(certificate.subjectAltName, 'DNS:server');
    const key = createPrivateKey(await readFile(join(tls, 'tls.key')));
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(certificate.checkPrivateKey(key));
    assert.equal((await stat(join(tls, '..data', 'tls.key'))).mode & 0o777, 0o600);
    const generations = (await readdir(tls)).filter((entry) => entry.startsWith('..') && entry !== '..data');
    assert.deepEqual(generations, [`${(await readdir(tls)).find((e) => e.endsWith(`_${last['serial']}`))}`]);
    const verified = await openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(tls, 'ca.crt'), join(tls, 'tls.crt'));
    assert.equal(verified.stdout.trim(), `${join(tls, 'tls.crt')}: OK`, verified.stderr);
  });

  it('while the CA is down: keeps the current certificate, logs the time left, retries with backoff, and renews once it is back', async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const agent = startAgent(ca, { TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('client', 'client'), IDENTITY: 'client', ROLE: 'client' });
    try {
      const enrolled = await agent.waitFor(named('enrolled'));
      await ca.stop();
      const failed = await agent.waitFor(named('renew_failed'));
      assert.equal(failed['code'], 'ECONNREFUSED');
      assert.equal(failed['serial'], enrolled['serial']);
      assert.ok((failed['timeLeftMs'] as number) > 0, JSON.stringify(failed));
      assert.equal(failed['keeping'], 'the current certificate, until it expires');
      await agent.waitFor((event) => agent.events.filter(named('renew_failed')).length >= 3 && event.event === 'renew_failed');
      // Nothing was swapped meanwhile.
      assert.equal(new X509Certificate(await readFile(join(tls, 'tls.crt'))).serialNumber, enrolled['serial']);
      await ca.start();
      const renewed = await agent.waitFor(named('renewed'));
      assert.equal(renewed['previousSerial'], enrolled['serial']);
    } finally {
      if (ca.running === undefined) await ca.start();
      assert.equal(await agent.stop(), 0, agent.stderr());
    }
    const failures = agent.events.filter(named('renew_failed'));
    for (const [i, failure] of failures.entries()) {
      assert.equal(failure['attempt'], i + 1);
      assert.ok((failure['retryInMs'] as number) >= 200, 'retried faster than RETRY_MIN_MS');
      // Never more than a quarter of the time left (plus the floor): attempts fit before expiry.
      assert.ok((failure['retryInMs'] as number) <= Math.max(200, (failure['timeLeftMs'] as number) / 4), JSON.stringify(failure));
    }
  });

  it('a renewal whose answer was lost: the retry brings the same key and gets the certificate the CA had issued (no CERTIFICATE_SUPERSEDED)', async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const config = readAgentConfig({ CA_URL: ca.url, TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('lost', 'client'), IDENTITY: 'lost', ROLE: 'client', RETRY_MIN_MS: '200', RETRY_MAX_MS: '1000' });
    let lost: string | undefined;
    const agent = inProcessAgent(config, (event, fields) => event === 'renewed' || (event === 'renew_failed' && fields?.['code'] !== 'ETIMEDOUT'));
    await agent.run(async (kind, issued) => {
      if (kind !== 'renew' || lost !== undefined) return;
      // The CA issued and answered; the answer never arrived.
      lost = new X509Certificate(issued.certificatePem).serialNumber;
      throw new CaError('ETIMEDOUT', 'the CA did not answer in time');
    });
    const { events } = agent;
    const failed = events.filter(named('renew_failed'));
    assert.deepEqual(failed.map((event) => event['code']), ['ETIMEDOUT']);
    const renewed = events.find(named('renewed'));
    assert.equal(renewed?.['serial'], lost, 'the certificate issued for the lost answer');
    assert.equal(new X509Certificate(await readFile(join(tls, 'tls.crt'))).serialNumber, lost);
  });

  it('an enrollment whose answer was lost: the retry brings the same key and token and gets the certificate the CA had issued (no TOKEN_USED)', async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const config = readAgentConfig({ CA_URL: ca.url, TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('lost-enroll', 'client'), IDENTITY: 'lost-enroll', ROLE: 'client', RETRY_MIN_MS: '200', RETRY_MAX_MS: '1000' });
    let lost: string | undefined;
    const agent = inProcessAgent(config, (event, fields) => event === 'enrolled' || (event === 'enroll_failed' && fields?.['code'] !== 'ETIMEDOUT'));
    await agent.run(async (kind, issued) => {
      if (kind !== 'enroll' || lost !== undefined) return;
      // The CA issued and answered (the token is spent); the answer never arrived.
      lost = new X509Certificate(issued.certificatePem).serialNumber;
      throw new CaError('ETIMEDOUT', 'the CA did not answer in time');
    });
    const { events } = agent;
    assert.deepEqual(events.filter(named('enroll_failed')).map((event) => event['code']), ['ETIMEDOUT']);
    assert.equal(events.find(named('enrolled'))?.['serial'], lost, 'the certificate issued for the lost answer');
    assert.equal(new X509Certificate(await readFile(join(tls, 'tls.crt'))).serialNumber, lost);
  });

  it('stopped after the CA answered its enrollment but before installing it (key staged, token spent): restarted, it adopts the staged key and gets that certificate', async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const config = readAgentConfig({ CA_URL: ca.url, TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('crashed', 'client'), IDENTITY: 'crashed', ROLE: 'client', RETRY_MIN_MS: '200', RETRY_MAX_MS: '1000' });
    const crashSite = await temporaryDirectory('agent-crash-');
    let lost: string | undefined;
    const agent = inProcessAgent(config, (event) => event === 'enrolled' || event === 'enroll_failed');
    const { events } = agent;
    // The first run "crashes" the moment the answer arrives: the volume is kept as it was then
    // (a crash runs no clean-up), and put back before the restart.
    const crash = new Error('crashed');
    await assert.rejects(
      agent.run(async (_kind, issued) => {
        lost = new X509Certificate(issued.certificatePem).serialNumber;
        await cp(tls, crashSite, { recursive: true, verbatimSymlinks: true });
        throw crash;
      }),
      crash,
    );
    await rm(tls, { recursive: true, force: true });
    await cp(crashSite, tls, { recursive: true, verbatimSymlinks: true });
    assert.ok((await readdir(tls)).some((entry) => entry.startsWith('..staging-')), 'the staged key survived the crash');
    await agent.run();
    assert.deepEqual(events.filter(named('staged_key_adopted')).map((event) => event['for']), ['enrollment']);
    assert.deepEqual(events.filter(named('enroll_failed')), []);
    assert.equal(events.find(named('enrolled'))?.['serial'], lost, 'the certificate issued before the crash');
    assert.equal(new X509Certificate(await readFile(join(tls, 'tls.crt'))).serialNumber, lost);
    assert.deepEqual((await readdir(tls)).filter((entry) => entry.startsWith('..staging-')), [], 'no staged key left behind');
  });

  it('restarted with a valid certificate in its volume, renews with it (its token is used up) instead of enrolling', async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const env = { TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('server', 'server'), IDENTITY: 'server', ROLE: 'server' };
    const first = startAgent(ca, env);
    let enrolled: Event;
    try {
      enrolled = await first.waitFor(named('enrolled'));
    } finally {
      assert.equal(await first.stop(), 0, first.stderr());
    }
    const second = startAgent(ca, env);
    try {
      const renewed = await second.waitFor(named('renewed'));
      assert.equal(renewed['previousSerial'], enrolled['serial']);
    } finally {
      assert.equal(await second.stop(), 0, second.stderr());
    }
    assert.deepEqual(second.events.filter((event) => /^(enrolled|enroll_failed|renew_failed)$/.test(event.event)), []);
  });

  it('refuses a used token: enroll_failed TOKEN_USED, backs off, writes nothing into the volume', async () => {
    const bootstrap = await ca.bootstrap('client', 'client');
    const first = startAgent(ca, { TLS_DIR: await temporaryDirectory('agent-tls-'), BOOTSTRAP_DIR: bootstrap, IDENTITY: 'client', ROLE: 'client' });
    try {
      await first.waitFor(named('enrolled'));
    } finally {
      await first.stop();
    }
    const tls = await temporaryDirectory('agent-tls-');
    const second = startAgent(ca, { TLS_DIR: tls, BOOTSTRAP_DIR: bootstrap, IDENTITY: 'client', ROLE: 'client' });
    try {
      await second.waitFor((event) => second.events.filter(named('enroll_failed')).length >= 2 && event.event === 'enroll_failed');
    } finally {
      assert.equal(await second.stop(), 0, second.stderr());
    }
    const [failure] = second.events.filter(named('enroll_failed'));
    assert.equal(failure?.['code'], 'TOKEN_USED');
    assert.ok((failure?.['retryInMs'] as number) >= 200);
    assert.deepEqual(await readdir(tls), []);
  });

  it("refuses to install a certificate for another identity (a token meant for another workload), and keeps nothing of it", async () => {
    const tls = await temporaryDirectory('agent-tls-');
    const agent = startAgent(ca, { TLS_DIR: tls, BOOTSTRAP_DIR: await ca.bootstrap('other', 'client'), IDENTITY: 'client', ROLE: 'client' });
    try {
      await agent.waitFor(named('enroll_failed'));
    } finally {
      assert.equal(await agent.stop(), 0, agent.stderr());
    }
    const failure = agent.events.find(named('enroll_failed'));
    assert.equal(failure?.['code'], 'CERTIFICATE_UNUSABLE');
    assert.equal(failure?.['message'], 'the issued certificate names other, not "client"');
    assert.deepEqual(await readdir(tls), []);
  });

  for (const [env, message] of [
    [{ TLS_DIR: '' }, 'agent: TLS_DIR is required (e.g. TLS_DIR=/tls)'],
    [{ KEY_TYPE: 'dsa' }, 'agent: KEY_TYPE must be one of rsa, ecdsa, ed25519, not "dsa"'],
    [{ ROLE: 'admin' }, 'agent: ROLE must be one of server, client, not "admin"'],
    [{ CA_URL: 'http://ca:9000/' }, `agent: CA_URL must use https:, not "http:" (tokens and keys' certificates travel over it)`],
  ] as const) {
    it(`refuses ${JSON.stringify(env)} with one line and exit 2`, async () => {
      const base = { TLS_DIR: '/nonexistent', BOOTSTRAP_DIR: '/nonexistent', IDENTITY: 'client', ROLE: 'client' };
      const result = await run(process.execPath, [AGENT], { env: { ...process.env, ...base, ...env } });
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `${message}\n`);
    });
  }
});
