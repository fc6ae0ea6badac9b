// How mTLS fails, in containers: docker-compose.yml's `failures` profile,
// one client container per scenario of demo/scenarios.ts against method1's
// server; what each must show comes from that table. Every row is
// checked from both sides: the client's exit code and diagnosis, and the
// server's log line for that very connection, found by the client's address
// and port (never by the scenario's name). Then `make demo`'s table over the
// same containers: all PASS, and FAIL once a client gets in.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerComposeEnvironment } from 'testcontainers';
import { jsonLines, readClientRun, serverLineFor } from '../demo/inputs.ts';
import { OTHER_CA_NAME, SCENARIOS, type Scenario } from '../demo/scenarios.ts';
import type { ExchangeDocument } from '../services/client/report-json.ts';
import {
  buildImages,
  command,
  compose,
  composeContainerId,
  describeWithDocker,
  dockerApi,
  exitCodeOf,
  HardenedContainer,
  imageName,
  inspect,
  logsOf,
  PUBLISH_ON_FREE_PORT,
  removeImages,
  runToExit,
  uniqueName,
} from './helpers/docker.ts';
import { ROOT, temporaryDirectory } from './helpers/processes.ts';

/** Whom the scenario's client presents and trusts, as its JSON document names them (the PKI's default names). */
function expectedIdentity({ material, client }: Scenario) {
  const presents = material.presents;
  return {
    url: `https://${client.dials ?? 'server'}:9443/`,
    presents: presents === undefined ? null : presents.identity === 'the client' ? 'CN=client' : `CN=${presents.identity.name}`,
    trusts: [material.trusts === 'ca' ? 'CN=selfCA' : `CN=${OTHER_CA_NAME}`],
  };
}

/** The client's JSON document: the last JSON line of its output. */
function clientDocument(output: string): ExchangeDocument {
  const document = jsonLines(output).at(-1);
  assert.ok(document !== undefined, output);
  return document as unknown as ExchangeDocument;
}

/** The fields of `event` that `expected` names. */
function pick(event: Record<string, unknown> | undefined, expected: object): Record<string, unknown> | undefined {
  return event === undefined ? undefined : Object.fromEntries(Object.keys(expected).map((key) => [key, event[key]]));
}

await describeWithDocker('containers: how mTLS fails (--profile failures)', () => {
  const tag = uniqueName('test');
  const project = uniqueName('mtls-failures');
  const env = { IMAGE_TAG: tag, CLIENT_OUTPUT: 'json' };
  const volume = (name: string) => `${project}_${name}`;
  let server: string;

  /** The server's log line about the connection whose client end is `local` ("address:port"), once it is written. */
  async function waitForServerLine(local: string): Promise<Record<string, unknown> | undefined> {
    // The client may exit before the server has logged a reset it caused.
    for (let attempt = 0; attempt < 50; attempt++) {
      const found = serverLineFor(jsonLines(await logsOf(server)), local);
      if (found !== undefined) return found;
      await sleep(100);
    }
    return undefined;
  }

  before(async () => {
    await buildImages(tag);
    await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
      .withProjectName(project)
      .withProfiles('failures')
      .withEnvironment({ ...env, ...PUBLISH_ON_FREE_PORT })
      .up();
    server = await composeContainerId(project, 'server-failures');
  });
  after(async () => {
    const down = await compose(['-p', project, '--profile', 'failures', 'down', '--volumes', '--remove-orphans'], env);
    assert.equal(down.code, 0, down.stderr);
    await removeImages(tag);
  });

  for (const scenario of SCENARIOS) {
    it(`${scenario.id}: the client says ${scenario.client.diagnosis}, the server's line for that connection says why`, async () => {
      const client = await composeContainerId(project, `client-${scenario.id}`);
      const exitCode = await exitCodeOf(client);
      const output = await logsOf(client);
      assert.equal(exitCode, 1, output);
      const document = clientDocument(output);
      assert.deepEqual(
        { url: document.url, presents: document.presents?.subject ?? null, trusts: document.trusts },
        expectedIdentity(scenario),
      );
      assert.equal(document.result, 'FAILED');
      assert.equal(document.failure?.code, scenario.client.diagnosis, output);
      const local = document.connection?.local;
      assert.ok(local !== undefined, output);
      assert.deepEqual(pick(await waitForServerLine(local), scenario.server), scenario.server, `server line for ${local}`);
    });
  }

  it('no client got in: the server served one request, the 403', async () => {
    for (const scenario of SCENARIOS) await exitCodeOf(await composeContainerId(project, `client-${scenario.id}`));
    const requests = jsonLines(await logsOf(server)).filter(({ event }) => event === 'request');
    assert.deepEqual(
      requests.map(({ client, status }) => ({ client, status })),
      [{ client: 'intruder', status: 403 }],
    );
  });

  it('mounts in each client only its own volume, read-only; the server only method1-server', async () => {
    const mounts = async (service: string) => {
      const { Mounts } = await inspect(await composeContainerId(project, service));
      return Mounts.map((mount) => `${mount.Name?.replace(`${project}_`, '')}:${mount.Destination}:${mount.RW ? 'rw' : 'ro'}`).sort();
    };
    for (const { id } of SCENARIOS) assert.deepEqual(await mounts(`client-${id}`), [`failures-${id}:/tls:ro`], id);
    assert.deepEqual(await mounts('server-failures'), ['method1-server:/tls:ro']);
    assert.deepEqual(
      await mounts('pki-failures'),
      ['method1-ca:/out/ca:rw', 'method1-client:/out/client:rw', 'method1-server:/out/server:rw', ...SCENARIOS.map(({ id }) => `failures-${id}:/out/demo-${id}:rw`)].sort(),
    );
  });

  /** What make demo does: gather the containers' output (the server stopped first), then the table. */
  async function failureTable(name: string) {
    const dir = join(await temporaryDirectory(), name);
    await mkdir(dir);
    const collected = await command('bash', ['demo/collect-failures.sh', project, dir]);
    assert.equal(collected.code, 0, collected.stderr);
    return { dir, table: await command(process.execPath, ['demo/failures-table.ts', dir]) };
  }

  it("make demo's table: every row PASS, exit 0", async () => {
    const { table } = await failureTable('all-refused');
    assert.equal(table.code, 0, table.stdout + table.stderr);
    const rows = table.stdout.split('\n').filter((line) => / (PASS|FAIL)$/.test(line));
    assert.equal(rows.length, SCENARIOS.length, table.stdout);
    assert.ok(rows.every((row) => row.endsWith(' PASS')), table.stdout);
    assert.match(table.stdout, /^ {4}demo-expired +issued +signed by our CA, expired yesterday$/m);
  });

  it("make demo's table: FAIL and exit 1 when a client gets in", async () => {
    // The expired scenario's volume, given the good client's material: as if
    // the server accepted an expired certificate.
    const copy = await runToExit(
      new HardenedContainer(imageName('client', tag))
        .withBindMounts([
          { source: volume('method1-client'), target: '/src', mode: 'ro' },
          { source: volume('failures-expired'), target: '/tls' },
        ])
        .withEntrypoint(['cp', '/src/tls.crt', '/src/tls.key', '/src/ca.crt', '/tls/']),
    );
    await copy.container.stop();
    assert.equal(copy.exitCode, 0, copy.output);
    // The previous table stopped the server (to read its whole log): the same
    // container starts again (its log goes on), then the client.
    await (await dockerApi()).getContainer(server).start();
    for (let attempt = 0; attempt < 120 && (await inspect(server)).State.Health?.Status !== 'healthy'; attempt++) await sleep(500);
    assert.equal((await inspect(server)).State.Health?.Status, 'healthy');
    const rerun = await compose(['-p', project, '--profile', 'failures', 'up', '-d', '--no-deps', '--force-recreate', 'client-expired'], env);
    assert.equal(rerun.code, 0, rerun.stderr);

    const { dir, table } = await failureTable('one-got-in');
    assert.equal(table.code, 1, table.stdout + table.stderr);
    assert.deepEqual(await readClientRun(dir, 'client-expired').then(({ exit, document }) => [exit, document?.result]), [0, 'OK']);
    const expired = table.stdout.split('\n').find((line) => line.trimStart().startsWith('expired '));
    assert.match(expired ?? '', / OK, HTTP 200 \(exit 0\) .* HTTP 200 for client +FAIL$/, table.stdout);
    assert.match(table.stdout, new RegExp(`FAIL {2}1 of ${SCENARIOS.length} scenarios behaved otherwise`));
  });
});
