// Revocation under load, as the contract runs it: the lifecycle profile with
// two client identities sending continuous traffic, then
// `docker compose --profile lifecycle run --rm admin revoke client`.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { command, compose, composeContainerId, describeWithDocker, logsOf, uniqueName } from './helpers/docker.ts';
import { parseEvents, type Event } from './helpers/events.ts';

const CRL_REFRESH_MS = 3000;
const TTL_MS = 90_000;
// How long both sides have had their current material before the revocation.
const SETTLE_MS = 3000;
// What the issue allows: one CRL refresh interval plus a few seconds (the watch's debounce, a reload, a loaded machine).
const BOUND_MS = CRL_REFRESH_MS + 10_000;
const IMAGES = ['ca', 'agent', 'server', 'client'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithDocker('revocation under load (lifecycle profile, two clients)', () => {
  const tag = uniqueName('test');
  const project = uniqueName('mtls-revocation');
  // 90 s certificates: the revocation happens well before either identity's renewal point. Past it,
  // the loop client closes its kept-alive connection after each request, leaving none for the server to close.
  const env = { IMAGE_TAG: tag, CERT_TTL: `${TTL_MS / 1000}s`, CRL_NEXT_UPDATE: '1m', CRL_REFRESH_MS: String(CRL_REFRESH_MS), REQUEST_RATE: '10' };
  const profiles = ['--profile', 'lifecycle', '--profile', 'lifecycle-client2'];
  const run = (...args: string[]) => compose(['-p', project, ...profiles, ...args], env, 5 * 60_000);
  const ids = new Map<string, string>();
  const id = async (service: string) => ids.get(service) ?? ids.set(service, await composeContainerId(project, service)).get(service) as string;
  const eventsOf = async (service: string, name?: string): Promise<Event[]> =>
    parseEvents(await logsOf(await id(service))).filter((event) => name === undefined || event.event === name);
  /** Polls until `condition` holds, up to `timeoutMs`. */
  const until = async (what: string, condition: () => Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
      await sleep(250);
    }
  };
  const admin = (...args: string[]) => run('run', '--rm', '-T', 'admin', ...args);
  const inventory = async () => {
    const result = await admin('list', '--json');
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { certificates: { serial: string; identity: string; status: string }[] }).certificates;
  };
  let revokedAt = 0;
  let revokedSerials: string[] = [];

  before(async () => {
    const build = await run('build');
    assert.equal(build.code, 0, build.stdout + build.stderr);
    const up = await run('up', '-d');
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const client of ['client-lifecycle', 'client2-lifecycle']) {
      await until(`${client} has traffic`, async () => (await eventsOf(client, 'traffic')).some((event) => Number(event['ok']) > 0), 120_000);
    }
    // Revoke while both identities' certificates are fresh (in their first half): the loop client keeps
    // a connection alive only while neither side's certificate is past its renewal point.
    const fresh = async (agent: string) => {
      const last = (await eventsOf(agent)).filter((event) => ['enrolled', 'renewed'].includes(event.event)).at(-1);
      return last !== undefined && Date.parse(String(last['notAfter'])) - Date.now() >= TTL_MS / 2;
    };
    // And settled: a loop client that has just taken new material (or faces a server that has) closes its
    // kept-alive connection and opens another, and a revocation in that gap finds none open.
    const settled = async (service: string, event: string) => {
      const last = (await eventsOf(service)).filter((line) => line.event === event || line.event === 'loop_started').at(-1);
      return last === undefined || Date.now() - Date.parse(String(last['time'])) >= SETTLE_MS;
    };
    await until(
      'both certificates in the first half of their lifetime, and both loaded for a while',
      async () => (await fresh('client-agent')) && (await fresh('server-agent')) && (await settled('client-lifecycle', 'tls_reloaded')) && (await settled('server-lifecycle', 'tls_reloaded')),
      60_000,
    );
    const revoke = await admin('revoke', 'client', '--reason', 'keyCompromise', '--json');
    revokedAt = Date.now();
    assert.equal(revoke.code, 0, revoke.stderr);
    revokedSerials = (JSON.parse(revoke.stdout) as { revoked: { serial: string }[] }).revoked.map((row) => row.serial);
    assert.ok(revokedSerials.length > 0);
  });
  after(async () => {
    const down = await run('down', '--volumes', '--remove-orphans');
    await command('docker', ['image', 'rm', ...IMAGES.map((image) => `mtls-demo/${image}:${tag}`)]);
    assert.equal(down.code, 0, down.stderr);
  });

  it('the revoked client\'s handshakes fail within the bound, and the server logs handshake_failed with CERT_REVOKED', async () => {
    await until(
      'the server logs CERT_REVOKED',
      async () => (await eventsOf('server-lifecycle', 'handshake_failed')).some((event) => event['code'] === 'CERT_REVOKED'),
      BOUND_MS - (Date.now() - revokedAt),
    );
    const failures = (await eventsOf('client-lifecycle', 'request_failed')).filter((event) => Date.parse(String(event['time'])) >= revokedAt);
    // Refused in the handshake; a request caught on a connection being closed may fail otherwise.
    const codes = new Set(failures.map((event) => String(event['code'])));
    assert.ok(codes.has('CERTIFICATE_REJECTED'), `the revoked client's handshakes are rejected; saw ${[...codes].join(', ')}`);
  });

  it('the reload ends its connections (connections_closed names its serial), and nothing of it is served after', async () => {
    const closed = (await eventsOf('server-lifecycle', 'connections_closed')).find((event) => event['reason'] === 'certificate revoked');
    assert.ok(closed !== undefined, 'connections_closed for the revoked serial');
    assert.ok((closed['serials'] as string[]).some((serial) => revokedSerials.includes(serial)));
    // Whether a kept-alive connection of the revoked client is open at that instant is the loop
    // client's timing, not the server's doing (it replaces its kept-alive connection now and then):
    // test/server-revocation.test.ts shows one closed, deterministically. Here: how many, and that
    // none of them, nor any later one, is served.
    assert.equal(typeof closed['idle'], 'number');
    assert.equal(typeof closed['busy'], 'number');
    // Served requests stop: a summary a few seconds on counts no more than the first one after the reload
    // (a request already in progress at the reload is answered: 1 s lets it finish).
    const settledAt = Date.parse(String(closed['time'])) + 1000;
    const okAfter = async () => Number((await eventsOf('client-lifecycle', 'traffic')).filter((event) => Date.parse(String(event['time'])) > settledAt).at(-1)?.['ok'] ?? NaN);
    await until('a traffic summary after the reload', async () => !Number.isNaN(await okAfter()), 10_000);
    const first = await okAfter();
    await sleep(2 * CRL_REFRESH_MS);
    assert.equal(await okAfter(), first, 'the revoked client was served after the reload');
  });

  it('the other client has 0 failed requests, before and after', async () => {
    await sleep(2 * CRL_REFRESH_MS);
    const traffic = await eventsOf('client2-lifecycle', 'traffic');
    const last = traffic.at(-1);
    assert.ok(last !== undefined && Number(last['ok']) > 0);
    assert.equal(last['failed'], 0, JSON.stringify(last));
    assert.deepEqual(await eventsOf('client2-lifecycle', 'request_failed'), []);
  });

  it('its agent\'s next renewal is refused: CERTIFICATE_REVOKED', async () => {
    await until('client-agent logs renew_failed CERTIFICATE_REVOKED', async () => (await eventsOf('client-agent', 'renew_failed')).some((event) => event['code'] === 'CERTIFICATE_REVOKED'), TTL_MS);
  });

  it('admin list shows the revocation, and a restarted CA still lists it', async () => {
    const revoked = (rows: { serial: string; status: string }[]) => revokedSerials.every((serial) => rows.find((row) => row.serial === serial)?.status === 'revoked');
    assert.ok(revoked(await inventory()));
    const restart = await run('restart', 'ca');
    assert.equal(restart.code, 0, restart.stderr);
    await until('the restarted CA answers', async () => (await admin('list', '--json')).code === 0, 60_000);
    assert.ok(revoked(await inventory()));
  });
});
