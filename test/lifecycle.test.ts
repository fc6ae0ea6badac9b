// The lifecycle profile as `docker compose --profile lifecycle up` runs it: a CA
// service, one agent per workload, the server and the loop client. Certificates of
// 15 s, rotated under continuous traffic for about a minute, through CA outages.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, it } from 'node:test';
import { command, compose, composeContainerId, describeWithDocker, FIND_BYTES_SCRIPT, inspect, logsOf, processUids, uniqueName } from './helpers/docker.ts';
import { parseEvents, type Event } from './helpers/events.ts';

// 20 s, not less: the outage test needs the CA back (docker start, node, SQLite) within the
// third of a lifetime left after a failed renewal, also on a busy 2-core machine.
const TTL_SECONDS = 20;
const IMAGES = ['ca', 'agent', 'server', 'client'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithDocker('the lifecycle profile', () => {
  const tag = uniqueName('test');
  const project = uniqueName('mtls-lifecycle');
  const env = { IMAGE_TAG: tag, CERT_TTL: `${TTL_SECONDS}s`, REQUEST_RATE: '20' };
  const lifecycle = (...args: string[]) => compose(['-p', project, '--profile', 'lifecycle', ...args], env, 5 * 60_000);
  const ids = new Map<string, string>();
  const id = async (service: string) => ids.get(service) ?? ids.set(service, await composeContainerId(project, service)).get(service) as string;
  const eventsOf = async (service: string, name?: string): Promise<Event[]> =>
    parseEvents(await logsOf(await id(service))).filter((event) => name === undefined || event.event === name);
  const exec = async (service: string, ...args: string[]) => {
    const result = await command('docker', ['exec', await id(service), ...args]);
    assert.equal(result.code, 0, `${service}: ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  /** Polls until `condition` holds, up to `timeoutMs`; for states that come with time, never a measure of speed. */
  const until = async (what: string, condition: () => Promise<boolean>, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) assert.fail(`never happened: ${what}`);
      await sleep(500);
    }
  };
  const rotations = async (agent: string) => (await eventsOf(agent)).filter((event) => ['enrolled', 'renewed'].includes(event.event));
  let startedAt = 0;

  before(async () => {
    const build = await lifecycle('build');
    assert.equal(build.code, 0, build.stdout + build.stderr);
    const up = await lifecycle('up', '-d');
    assert.equal(up.code, 0, up.stdout + up.stderr);
    startedAt = Date.now();
  });
  after(async () => {
    const down = await lifecycle('down', '--volumes', '--remove-orphans');
    await command('docker', ['image', 'rm', ...IMAGES.map((image) => `mtls-demo/${image}:${tag}`)]);
    assert.equal(down.code, 0, down.stderr);
  });

  it('where keys are: the CA key only in the CA container, each workload key only with its workload and its agent', async () => {
    const keys = {
      'CA key': await exec('ca', 'cat', '/ca/ca.key'),
      'server key': await exec('server-agent', 'cat', '/tls/tls.key'),
      'client key': await exec('client-agent', 'cat', '/tls/tls.key'),
    };
    // Each key as text (a line of its PEM) and as bytes (a slice of its DER).
    const names = Object.keys(keys);
    const needles = Object.values(keys).flatMap((pem) => [
      Buffer.from(pem.split('\n')[2] ?? '').toString('hex'),
      createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }).subarray(36, 68).toString('hex'),
    ]);
    const found = async (service: string) => {
      const output = await exec(service, 'node', '-e', FIND_BYTES_SCRIPT, ...needles);
      const hits = output.trim().split('\n').filter((line) => line !== '');
      // Generation directories carry a time and a serial: name them by what they are.
      return [...new Set(hits.map((line) => `${names[Math.floor(Number(line.split(' ')[0]) / 2)]} in ${line.split(' ')[1]?.replace(/\/\.\.[^/]+\//, '/..<generation>/')}`))];
    };
    assert.deepEqual(await found('ca'), ['CA key in /ca/ca.key']);
    // The workloads and agents rotate every few seconds: a key read a moment ago may be gone already (and that is fine);
    // what must never be there is anybody else's key.
    const allowed = (own: string) => (hit: string) => hit === `${own} in /tls/..<generation>/tls.key`;
    for (const [service, own] of [['server-lifecycle', 'server key'], ['server-agent', 'server key'], ['client-lifecycle', 'client key'], ['client-agent', 'client key']] as const) {
      const hits = await found(service);
      assert.ok(hits.every(allowed(own)), `${service}: ${hits.join(', ')}`);
    }
    // And nothing but the CA holds the CA's database or key directory.
    for (const service of ['server-lifecycle', 'client-lifecycle', 'server-agent', 'client-agent']) {
      const mounts = JSON.parse((await command('docker', ['inspect', '--format', '{{json .Mounts}}', await id(service)])).stdout) as { Destination: string; RW: boolean }[];
      assert.ok(!mounts.some((mount) => mount.Destination === '/ca'), `${service} mounts /ca`);
      const tls = mounts.find((mount) => mount.Destination === '/tls');
      assert.equal(tls?.RW, service.endsWith('-agent'), `${service}: /tls must be read-write only for the agent`);
    }
  });

  it('hardened like every other container: uid 1000, read-only root filesystem, no capabilities, no privilege gain, an init', async () => {
    const entries: Record<string, string> = {
      ca: 'services/ca/main.ts serve',
      'server-agent': 'services/agent/main.ts',
      'client-agent': 'services/agent/main.ts',
      'server-lifecycle': 'services/server/main.ts',
      'client-lifecycle': 'services/client/main.ts',
    };
    for (const [service, entry] of Object.entries(entries)) {
      const { HostConfig } = await inspect(await id(service));
      assert.equal(HostConfig.ReadonlyRootfs, true, service);
      assert.deepEqual(HostConfig.CapDrop, ['ALL'], service);
      assert.deepEqual(HostConfig.SecurityOpt, ['no-new-privileges:true'], service);
      assert.equal(HostConfig.Init, true, service);
      // Docker's health check may be running at that moment too (node services/*/healthcheck.ts): as uid 1000 as well.
      const processes = (await processUids(await id(service))).map(({ uid, command }) => `${uid} ${command}`);
      assert.deepEqual(processes.filter((line) => !line.endsWith('/healthcheck.ts')), [`1000 /sbin/docker-init -- node ${entry}`, `1000 node ${entry}`]);
      assert.ok(processes.every((line) => line.startsWith('1000 ')), processes.join('\n'));
    }
  });

  it('a CA outage shorter than the time left: renewals fail and are retried while certificates stay, then resume', async () => {
    const timeLeft = async (agent: string) => Date.parse(String((await rotations(agent)).at(-1)?.['notAfter'])) - Date.now();
    // Stop the CA while both certificates have two thirds of their lifetime ahead (both just renewed);
    // start it again as soon as a renewal has failed: about a third of the lifetime is left then.
    const fresh = (TTL_SECONDS * 1000 * 2) / 3;
    await until('both certificates fresh', async () => (await timeLeft('server-agent')) >= fresh && (await timeLeft('client-agent')) >= fresh, 30_000);
    const stopped = await lifecycle('stop', 'ca');
    assert.equal(stopped.code, 0, stopped.stderr);
    const outageFrom = Date.now();
    const failuresSince = async (from: number) =>
      (await Promise.all(['server-agent', 'client-agent'].map((agent) => eventsOf(agent, 'renew_failed')))).flat().filter((event) => Date.parse(String(event['time'])) >= from);
    await until('a failed renewal during the outage', async () => (await failuresSince(outageFrom)).length > 0, 20_000);
    const started = await lifecycle('start', 'ca');
    assert.equal(started.code, 0, started.stderr);
    const outageTo = Date.now();
    for (const agent of ['server-agent', 'client-agent']) {
      await until(`${agent} renewed after the outage`, async () => (await eventsOf(agent, 'renewed')).some((event) => Date.parse(String(event['time'])) > outageTo), 30_000);
    }
    const failures = await failuresSince(outageFrom);
    for (const failure of failures) {
      assert.ok((failure['timeLeftMs'] as number) > 0, JSON.stringify(failure));
      assert.equal(failure['keeping'], 'the current certificate, until it expires');
      assert.ok((failure['retryInMs'] as number) >= 1000, 'retried faster than the 1 s floor');
    }
    assert.deepEqual(await Promise.all(['server-agent', 'client-agent'].map((agent) => eventsOf(agent, 'certificate_expired'))), [[], []]);
    console.log(`# CA down for ${((outageTo - outageFrom) / 1000).toFixed(1)} s; ${failures.length} failed renewal attempts, each retried with the certificate still valid`);
  });

  it('docker compose restart ca: the same CA certificate and database; renewals of certificates issued before go on', async () => {
    const caBefore = await exec('ca', 'cat', '/ca/ca.crt');
    const inventoryBefore = parseEvents(await exec('ca', 'node', 'services/ca/main.ts', 'inventory'));
    const restarted = await lifecycle('restart', 'ca');
    assert.equal(restarted.code, 0, restarted.stderr);
    const restartedAt = Date.now();
    assert.equal(await exec('ca', 'cat', '/ca/ca.crt'), caBefore);
    const inventoryAfter = parseEvents(await exec('ca', 'node', 'services/ca/main.ts', 'inventory'));
    const serials = (events: Event[]) => events.map((event) => String(event['serial']));
    assert.ok(inventoryBefore.length > 0, 'the inventory is empty');
    assert.deepEqual(serials(inventoryAfter).slice(0, inventoryBefore.length), serials(inventoryBefore));
    for (const agent of ['server-agent', 'client-agent']) {
      await until(`${agent} renewed after the restart`, async () => (await eventsOf(agent, 'renewed')).some((event) => Date.parse(String(event['time'])) > restartedAt), 30_000);
    }
  });

  it('about a minute of traffic over new and kept-alive connections: at least 3 rotations each, every one a new key, not one failed request', async () => {
    await until('60 s of traffic and 3 renewals of each identity', async () => {
      const counts = await Promise.all(['server-agent', 'client-agent'].map(async (agent) => (await eventsOf(agent, 'renewed')).length));
      return Date.now() - startedAt >= 60_000 && counts.every((count) => count >= 3);
    }, 120_000);
    for (const agent of ['server-agent', 'client-agent']) {
      const all = await rotations(agent);
      const fingerprints = all.map((event) => event['publicKeyFingerprint']);
      assert.equal(new Set(fingerprints).size, fingerprints.length, `${agent} reused a key`);
      assert.equal(new Set(all.map((event) => event['serial'])).size, all.length);
      for (const renewed of all.filter((event) => event.event === 'renewed')) assert.notEqual(renewed['publicKeyFingerprint'], renewed['previousPublicKeyFingerprint']);
    }
    const reloads = await eventsOf('server-lifecycle', 'tls_reloaded');
    assert.ok(reloads.length >= 3, `the server reloaded ${reloads.length} times`);

    const stopped = await lifecycle('stop', 'client-lifecycle');
    assert.equal(stopped.code, 0, stopped.stderr);
    const { State } = JSON.parse((await command('docker', ['inspect', await id('client-lifecycle')])).stdout)[0] as { State: { ExitCode: number } };
    // Docker copies a container's output into its log on its own time: the last lines may land just after the stop.
    await until('the final traffic summary in the log', async () => (await eventsOf('client-lifecycle', 'traffic')).some((event) => event['final'] === true), 15_000);
    const client = await eventsOf('client-lifecycle');
    const final = client.filter((event) => event.event === 'traffic').at(-1) as Event;
    assert.deepEqual(client.filter((event) => event.event === 'request_failed').slice(0, 3), []);
    assert.equal(final['final'], true);
    assert.equal(final['failed'], 0);
    assert.equal(State.ExitCode, 0);
    const tally = (kind: string) => (final[kind] as { ok: number; failed: number });
    assert.ok(tally('newConnections').ok > 0 && tally('keptAlive').ok > 0, JSON.stringify(final));
    assert.ok((final['reloads'] as number) >= 3);
    // SIGTERM stops the agents cleanly (exit 0), in the middle of a wait, without Docker's SIGKILL.
    const agentsStopped = await lifecycle('stop', 'server-agent', 'client-agent');
    assert.equal(agentsStopped.code, 0, agentsStopped.stderr);
    for (const agent of ['server-agent', 'client-agent']) {
      assert.equal((await inspect(await id(agent))).State.ExitCode, 0, agent);
      await until(`${agent} logged stopped`, async () => (await eventsOf(agent, 'stopped')).length > 0, 15_000);
      assert.equal((await eventsOf(agent, 'stopped')).length, 1, agent);
    }
    console.log(`# ${final['ok']} requests in ${((Date.now() - startedAt) / 1000).toFixed(0)} s, 0 failed; ` +
      `${(await eventsOf('server-agent', 'renewed')).length} server and ${(await eventsOf('client-agent', 'renewed')).length} client renewals; ` +
      `${final['reloads']} client reloads, ${reloads.length} server reloads`);
  });
});
