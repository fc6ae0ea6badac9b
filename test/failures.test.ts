// How mTLS fails, in containers: docker-compose.yml's `failures` profile,
// one client container per scenario against method1's server. Every row is
// checked from both sides: the client's exit code and diagnosis, and the
// server's log line for that very connection, found by the client's address
// and port (never by the scenario's name). Then `make demo`'s table over the
// same containers: all PASS, and FAIL once a client gets in.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerComposeEnvironment } from 'testcontainers';
import {
  buildImages,
  command,
  compose,
  composeContainerId,
  describeWithDocker,
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
import { ROOT } from './helpers/processes.ts';

interface Scenario {
  /** Service client-<id>, volume failures-<id>. */
  id: string;
  /** The client's first line: whom it dials, as whom, trusting whom. */
  client: string;
  diagnosis: string;
  /** The server's log line for the client's connection (the fields that say why). */
  server: Record<string, unknown>;
}

/** What the server logs when the client, not the server, ends the handshake. */
const CLIENT_HUNG_UP = {
  event: 'handshake_failed',
  reason: 'client hung up during the handshake',
  code: 'ECONNRESET',
};

const SCENARIOS: Scenario[] = [
  {
    id: 'no-cert',
    client: 'https://server:9443/ as no client certificate, trusting CN=selfCA',
    diagnosis: 'CERTIFICATE_REQUIRED',
    server: { event: 'handshake_failed', reason: 'peer did not return a certificate', code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' },
  },
  {
    id: 'rogue-ca',
    client: 'https://server:9443/ as CN=client, trusting CN=selfCA',
    diagnosis: 'CERTIFICATE_REJECTED',
    server: { event: 'handshake_failed', reason: 'unknown CA', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
  },
  {
    id: 'expired',
    client: 'https://server:9443/ as CN=client, trusting CN=selfCA',
    diagnosis: 'CERTIFICATE_REJECTED',
    server: { event: 'handshake_failed', reason: 'certificate expired', code: 'CERT_HAS_EXPIRED' },
  },
  {
    id: 'wrong-usage',
    client: 'https://server:9443/ as CN=demo-wrong-usage, trusting CN=selfCA',
    diagnosis: 'CERTIFICATE_REJECTED',
    server: { event: 'handshake_failed', reason: 'wrong key usage', code: 'INVALID_PURPOSE' },
  },
  {
    id: 'not-allowed',
    client: 'https://server:9443/ as CN=intruder, trusting CN=selfCA',
    diagnosis: 'FORBIDDEN',
    server: { event: 'request', client: 'intruder', status: 403, reason: 'not in ALLOWED_CLIENTS' },
  },
  {
    id: 'wrong-name',
    client: 'https://mtls-backend:9443/ as CN=demo-wrong-name, trusting CN=selfCA',
    diagnosis: 'HOSTNAME_MISMATCH',
    server: CLIENT_HUNG_UP,
  },
  {
    id: 'untrusted-server',
    client: 'https://server:9443/ as CN=demo-untrusted-server, trusting CN=otherCA',
    diagnosis: 'SERVER_UNTRUSTED',
    server: CLIENT_HUNG_UP,
  },
];

/** The server's JSON log lines. */
function serverEvents(log: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The fields of `event` that `expected` names. */
function pick(event: Record<string, unknown> | undefined, expected: Record<string, unknown>): Record<string, unknown> | undefined {
  return event === undefined ? undefined : Object.fromEntries(Object.keys(expected).map((key) => [key, event[key]]));
}

await describeWithDocker('containers: how mTLS fails (--profile failures)', () => {
  const tag = uniqueName('test');
  const project = uniqueName('mtls-failures');
  const env = { IMAGE_TAG: tag };
  const volume = (name: string) => `${project}_${name}`;
  let server: string;

  /** The server's log line about the connection whose client end is `local` ("address:port"), once it is written. */
  async function serverLineFor(local: string): Promise<Record<string, unknown> | undefined> {
    // The client may exit before the server has logged a reset it caused.
    for (let attempt = 0; attempt < 50; attempt++) {
      const found = serverEvents(await logsOf(server)).find(({ remote, remotePort }) => `${remote}:${remotePort}` === local);
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
    it(`${scenario.id}: the client says ${scenario.diagnosis}, the server's line for that connection says why`, async () => {
      const client = await composeContainerId(project, `client-${scenario.id}`);
      const exitCode = await exitCodeOf(client);
      const output = await logsOf(client);
      assert.equal(exitCode, 1, output);
      assert.equal(output.split('\n')[0], `client:  ${scenario.client}`);
      assert.match(output.trim().split('\n').at(-1) ?? '', new RegExp(`^result: {2}FAILED ${scenario.diagnosis}: `));
      const local = /^conn: +(\S+) → /m.exec(output)?.[1];
      assert.ok(local !== undefined, output);
      assert.deepEqual(pick(await serverLineFor(local), scenario.server), scenario.server, `server line for ${local}`);
    });
  }

  it('no client got in: the server served one request, the 403', async () => {
    for (const scenario of SCENARIOS) await exitCodeOf(await composeContainerId(project, `client-${scenario.id}`));
    const requests = serverEvents(await logsOf(server)).filter(({ event }) => event === 'request');
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

  it("make demo's table: every row PASS, exit 0", async () => {
    const table = await command('bash', ['demo/failures-table.sh', project]);
    assert.equal(table.code, 0, table.stdout + table.stderr);
    const rows = table.stdout.split('\n').filter((line) => / (PASS|FAIL)$/.test(line));
    assert.equal(rows.length, SCENARIOS.length, table.stdout);
    assert.ok(rows.every((row) => row.endsWith(' PASS')), table.stdout);
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
    const rerun = await compose(['-p', project, '--profile', 'failures', 'up', '-d', '--no-deps', '--force-recreate', 'client-expired'], env);
    assert.equal(rerun.code, 0, rerun.stderr);

    const table = await command('bash', ['demo/failures-table.sh', project]);
    assert.equal(table.code, 1, table.stdout + table.stderr);
    const expired = table.stdout.split('\n').find((line) => line.trimStart().startsWith('expired '));
    assert.match(expired ?? '', / OK, HTTP 200 \(exit 0\) .* HTTP 200 for client +FAIL$/, table.stdout);
    assert.match(table.stdout, /FAIL {2}1 of 7 scenarios behaved otherwise/);
  });
});
