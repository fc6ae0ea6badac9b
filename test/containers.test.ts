// The containers, from the outside: docker-compose.yml's two profiles as
// `docker compose up` runs them, then the same three roles wired by hand,
// checking what each container can read, write and run as.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { DockerComposeEnvironment, Network, Wait, type StartedDockerComposeEnvironment, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import {
  buildImages,
  compose,
  composeContainerId,
  describeWithDocker,
  dockerApi,
  exitCodeOf,
  FIND_BYTES_SCRIPT,
  HardenedContainer,
  imageName,
  inspect,
  logsOf,
  processUids,
  PUBLISH_ON_FREE_PORT,
  removeImages,
  removeVolumes,
  runToExit,
  TRY_WRITE_SCRIPT,
  uniqueName,
  type Run,
} from './helpers/docker.ts';
import { ROOT } from './helpers/processes.ts';
import { jsonLines } from '../demo/inputs.ts';
import type { PkiDocument } from '../pki/report.ts';
import type { ExchangeDocument } from '../services/client/report-json.ts';

interface Profile {
  method: 'method1' | 'method2';
  /** Service names of method2 end in -method2. */
  suffix: string;
  /** What the client reports: the server's subject and who issued it, and its own subject. */
  server: string;
  issuer: string;
  client: string;
  /** Per service: volume:mount point:ro|rw, the least-privilege table of docker-compose.yml. */
  mounts: Record<string, string[]>;
}

const PROFILES: Profile[] = [
  {
    method: 'method1',
    suffix: '',
    server: 'CN=server',
    issuer: 'CN=selfCA',
    client: 'CN=client',
    mounts: {
      pki: ['method1-ca:/out/ca:rw', 'method1-client:/out/client:rw', 'method1-server:/out/server:rw'],
      server: ['method1-server:/tls:ro'],
      client: ['method1-client:/tls:ro'],
    },
  },
  {
    method: 'method2',
    suffix: '-method2',
    server: 'CN=localhost',
    issuer: 'CN=localhost',
    client: 'CN=localhost',
    mounts: {
      'pki-method2': ['method2-client:/out/client:rw', 'method2-server:/out/server:rw'],
      'server-method2': ['method2-server:/tls:ro'],
      'client-method2': ['method2-client:/tls:ro'],
    },
  },
];

/** Each run of the PKI in a container's output, from its --json report: per identity, issued or kept, and the fingerprint. */
function pkiRuns(output: string): Map<string, { action: string; fingerprint: string | undefined }>[] {
  return jsonLines(output)
    .map((line) => line as unknown as PkiDocument)
    .filter((report) => Array.isArray(report.identities))
    .map((report) => new Map(report.identities.map(({ identity, action, certificate }) => [identity, { action, fingerprint: certificate?.fingerprint256 }])));
}

/** The client's JSON document (OUTPUT=json): the last JSON line of its output. */
function clientDocument(output: string): ExchangeDocument {
  const document = jsonLines(output).at(-1);
  assert.ok(document !== undefined, output);
  return document as unknown as ExchangeDocument;
}

/** The server's JSON log events of one kind. */
function events(log: string, name: string): Record<string, unknown>[] {
  return jsonLines(log).filter((event) => event['event'] === name);
}

/**
 * The container's processes as "uid command", without the health probe that
 * Docker may be running at that moment (it must run as uid 1000 too).
 */
async function processesOf(id: string): Promise<string[]> {
  const all = (await processUids(id)).map(({ uid, command }) => `${uid} ${command}`);
  // Docker's health probe, when one runs at that moment (or has just exited and awaits its reaping).
  const probes = all.filter((line) => line.endsWith(' node services/server/healthcheck.ts') || line.endsWith(' <defunct>'));
  assert.ok(probes.every((line) => line.startsWith('1000 ')), probes.join('\n'));
  return all.filter((line) => !probes.includes(line));
}

/** A TLS handshake from the host without a client certificate: what the server presented, and how it ended. */
function probeWithoutCertificate(host: string, port: number): Promise<{ subject: string | undefined; error: string | undefined }> {
  return new Promise((resolve) => {
    let subject: string | undefined;
    const socket = tls.connect({ host, port, servername: 'server', rejectUnauthorized: false });
    socket.on('secureConnect', () => {
      subject = socket.getPeerX509Certificate()?.subject.trim();
      // TLS 1.3: the server's verdict on our (missing) certificate comes after the handshake.
      socket.write('GET / HTTP/1.1\r\nHost: server\r\n\r\n');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve({ subject, error: error.code }));
    socket.on('end', () => resolve({ subject, error: undefined }));
  });
}

await describeWithDocker('containers', () => {
  const tag = uniqueName('test');
  // The PKI prints JSON in compose; CLIENT_OUTPUT asks the clients to.
  const env = { IMAGE_TAG: tag, CLIENT_OUTPUT: 'json' };

  before(async () => {
    const started = Date.now();
    await buildImages(tag);
    console.log(`# images built in ${((Date.now() - started) / 1000).toFixed(1)} s (NODE_IMAGE=${process.env['NODE_IMAGE'] ?? 'default'})`);
  });
  after(() => removeImages(tag));

  describe('docker compose: both profiles, one after the other, in one project', () => {
    const project = uniqueName('mtls-test');
    after(async () => {
      const down = await compose(['-p', project, '--profile', 'method1', '--profile', 'method2', 'down', '--volumes', '--remove-orphans'], env);
      assert.equal(down.code, 0, down.stderr);
    });

    for (const profile of PROFILES) {
      const { method, suffix } = profile;
      describe(`--profile ${method}`, () => {
        let environment: StartedDockerComposeEnvironment;
        let firstPkiOutput = '';

        before(async () => {
          environment = await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
            .withProjectName(project)
            .withProfiles(method)
            .withEnvironment({ ...env, ...PUBLISH_ON_FREE_PORT })
            .up();
          firstPkiOutput = await logsOf(await composeContainerId(project, `pki${suffix}`));
        });
        // The volumes stay: the next profile must not see them, and the project's after() removes them.
        after(() => environment.down({ removeVolumes: false }));

        it('up: the PKI issues, the server starts once healthy, the client verifies it and is verified', async () => {
          const [run, ...more] = pkiRuns(firstPkiOutput);
          assert.equal(more.length, 0, 'the PKI ran exactly once');
          assert.ok(run !== undefined && run.size > 0, firstPkiOutput);
          for (const [identity, { action }] of run) assert.equal(action, 'issued', `${identity}: ${firstPkiOutput}`);

          const client = await composeContainerId(project, `client${suffix}`);
          const exitCode = await exitCodeOf(client);
          const output = await logsOf(client);
          assert.equal(exitCode, 0, output);
          const document = clientDocument(output);
          assert.deepEqual(
            { url: document.url, presents: document.presents?.subject, trusts: document.trusts },
            { url: 'https://server:9443/', presents: profile.client, trusts: [profile.issuer] },
          );
          assert.deepEqual([document.server?.subject, document.server?.issuer], [profile.server, profile.issuer]);
          assert.ok(document.server?.subjectAltNames.includes('DNS:server'), output);
          assert.deepEqual([document.status, document.statusMessage, document.result, document.failure], [200, 'OK', 'OK', null]);

          const serverLog = await logsOf(await composeContainerId(project, `server${suffix}`));
          const requests = events(serverLog, 'request');
          assert.deepEqual(
            requests.map(({ client, as, path, status }) => ({ client, as, path, status })),
            // Logged by the SAN that ALLOWED_CLIENTS=client matched, never by the CN (method2's CN is localhost).
            [{ client: 'client', as: 'DNS:client', path: '/', status: 200 }],
          );
        });

        it('publishes the server on the host, where a client without a certificate is refused', async () => {
          const server = environment.getContainer(`server${suffix}-1`);
          const probe = await probeWithoutCertificate(server.getHost(), server.getMappedPort(9443));
          assert.deepEqual(probe, { subject: profile.server, error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
        });

        it('mounts in each container only its own volumes, read-only but for the PKI', async () => {
          for (const [service, expected] of Object.entries(profile.mounts)) {
            const { Mounts } = await inspect(await composeContainerId(project, service));
            const mounts = Mounts.map((mount) => `${mount.Name?.replace(`${project}_`, '')}:${mount.Destination}:${mount.RW ? 'rw' : 'ro'}`);
            assert.deepEqual(mounts.sort(), expected, service);
          }
        });

        it('runs every container read-only, without capabilities or privilege gain, as uid 1000, under an init', async () => {
          for (const service of Object.keys(profile.mounts)) {
            const { HostConfig, Config } = await inspect(await composeContainerId(project, service));
            assert.deepEqual(
              {
                readOnly: HostConfig.ReadonlyRootfs,
                capDrop: HostConfig.CapDrop,
                securityOpt: HostConfig.SecurityOpt,
                init: HostConfig.Init,
                user: Config.User,
              },
              { readOnly: true, capDrop: ['ALL'], securityOpt: ['no-new-privileges:true'], init: true, user: '1000:1000' },
              service,
            );
          }
          const server = environment.getContainer(`server${suffix}-1`);
          assert.deepEqual((await processesOf(server.getId())).sort(), ['1000 /sbin/docker-init -- node services/server/main.ts', '1000 node services/server/main.ts'].sort());
          const status = await server.exec(['cat', '/proc/1/status']);
          assert.match(status.output, /^CapEff:\s+0+$/m);
          assert.match(status.output, /^NoNewPrivs:\s+1$/m);
          const writes = await server.exec(['node', '-e', TRY_WRITE_SCRIPT, '/', '/app', '/tmp', '/home/node', '/tls']);
          assert.deepEqual(writes.output.trim().split('\n'), ['/ EROFS', '/app EROFS', '/tmp EROFS', '/home/node EROFS', '/tls EROFS']);
        });

        it('up again keeps the CA and every certificate (the PKI rerun rules)', async () => {
          const up = await compose(['-p', project, '--profile', method, 'up', '-d'], env);
          assert.equal(up.code, 0, up.stderr);
          const pki = await composeContainerId(project, `pki${suffix}`);
          assert.equal(await exitCodeOf(pki), 0);
          const [first, second, ...more] = pkiRuns(await logsOf(pki));
          assert.equal(more.length, 0);
          assert.ok(first !== undefined && second !== undefined);
          for (const [identity, issued] of first) {
            assert.deepEqual(second.get(identity), { action: 'kept', fingerprint: issued.fingerprint }, identity);
          }
          const client = await composeContainerId(project, `client${suffix}`);
          assert.equal(await exitCodeOf(client), 0);
        });

        it('run --rm client exits with the client exit code: 0 served, 1 failed exchange, 2 bad configuration', async () => {
          const run = (...args: string[]) => compose(['-p', project, '--profile', method, 'run', '--rm', ...args, `client${suffix}`], env);
          const served = await run();
          assert.equal(served.code, 0, served.stderr);
          assert.equal(clientDocument(served.stdout).result, 'OK');
          const refused = await run('-e', 'SERVER_URL=https://localhost:9443/', '-e', 'WAIT_FOR_SERVER_MS=0');
          assert.equal(refused.code, 1, refused.stderr);
          assert.equal(clientDocument(refused.stdout).failure?.code, 'CONNECTION_REFUSED');
          const misconfigured = await run('-e', 'TLS_DIR=/nowhere');
          assert.equal(misconfigured.code, 2);
          assert.match(misconfigured.stderr, /^client: \/nowhere\/ca\.crt: missing$/m);
        });
      });
    }
  });

  describe('by hand: GenericContainer on a Network, method1', () => {
    const name = uniqueName('mtls-test');
    const volumes = { ca: `${name}-ca`, server: `${name}-server`, client: `${name}-client`, nocert: `${name}-nocert` };
    const containers: StartedTestContainer[] = [];
    let network: StartedNetwork;
    let server: StartedTestContainer;

    /** A one-shot container, removed after the suite. */
    async function oneShot(container: HardenedContainer): Promise<Run> {
      const run = await runToExit(container);
      containers.push(run.container);
      return run;
    }

    function client(tlsVolume: string): HardenedContainer {
      return new HardenedContainer(imageName('client', tag))
        .withNetwork(network)
        .withBindMounts([{ source: tlsVolume, target: '/tls', mode: 'ro' }])
        .withEnvironment({ OUTPUT: 'json' });
    }

    before(async () => {
      network = await new Network().start();
      const pki = await oneShot(
        new HardenedContainer(imageName('pki', tag))
          .withTmpFs({ '/out': 'uid=1000,gid=1000,mode=0755,size=64k' })
          .withBindMounts([
            { source: volumes.ca, target: '/out/ca' },
            { source: volumes.server, target: '/out/server' },
            { source: volumes.client, target: '/out/client' },
          ])
          .withCommand(['--method', 'method1', '--out', '/out']),
      );
      assert.equal(pki.exitCode, 0, pki.output);
      server = await new HardenedContainer(imageName('server', tag))
        .withNetwork(network)
        .withNetworkAliases('server')
        .withBindMounts([{ source: volumes.server, target: '/tls', mode: 'ro' }])
        .withEnvironment({ ALLOWED_CLIENTS: 'client' })
        .withWaitStrategy(Wait.forHealthCheck())
        .start();
      containers.push(server);
    });
    after(async () => {
      for (const container of containers) await container.stop({ timeout: 10_000 });
      await network?.stop();
      await removeVolumes(Object.values(volumes));
    });

    it('serves the client that presents its certificate', async () => {
      const { exitCode, output } = await oneShot(client(volumes.client));
      assert.equal(exitCode, 0, output);
      assert.equal(clientDocument(output).result, 'OK');
    });

    it('refuses a client container without a certificate', async () => {
      // A volume with the client's ca.crt alone: it trusts the server but has nothing to present.
      const copy = await oneShot(
        new HardenedContainer(imageName('client', tag))
          .withBindMounts([
            { source: volumes.client, target: '/src', mode: 'ro' },
            { source: volumes.nocert, target: '/tls' },
          ])
          .withEntrypoint(['cp', '/src/ca.crt', '/tls/ca.crt']),
      );
      assert.equal(copy.exitCode, 0, copy.output);
      const { exitCode, output } = await oneShot(client(volumes.nocert));
      assert.equal(exitCode, 1, output);
      const document = clientDocument(output);
      assert.deepEqual([document.url, document.presents, document.trusts], ['https://server:9443/', null, ['CN=selfCA']]);
      assert.equal(document.failure?.code, 'CERTIFICATE_REQUIRED');
      const refusals = events(await logsOf(server.getId()), 'handshake_failed');
      assert.deepEqual(
        refusals.map(({ reason }) => reason),
        ['peer did not return a certificate'],
      );
    });

    it('the server container cannot read the CA key or the client key, anywhere', async () => {
      const { Mounts } = await inspect(server.getId());
      assert.deepEqual(
        Mounts.map(({ Name, Destination, RW }) => ({ Name, Destination, RW })),
        [{ Name: volumes.server, Destination: '/tls', RW: false }],
      );
      // The keys, read by a container that mounts every volume (as only the PKI does).
      const keys = await oneShot(
        new HardenedContainer(imageName('pki', tag))
          .withBindMounts([
            { source: volumes.ca, target: '/out/ca', mode: 'ro' },
            { source: volumes.server, target: '/out/server', mode: 'ro' },
            { source: volumes.client, target: '/out/client', mode: 'ro' },
          ])
          .withEntrypoint(['cat', '/out/ca/ca.key', '/out/client/tls.key', '/out/server/tls.key']),
      );
      const pems = keys.output.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/g) ?? [];
      assert.equal(pems.length, 3, keys.output);
      // Each key as text (one line of its PEM) and as bytes (a slice of its DER).
      const needles = pems.flatMap((pem) => [
        Buffer.from(pem.split('\n')[10] ?? '').toString('hex'),
        createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }).subarray(200, 232).toString('hex'),
      ]);
      const scan = await server.exec(['node', '-e', FIND_BYTES_SCRIPT, ...needles]);
      assert.equal(scan.exitCode, 0, scan.output);
      const key = ['CA key', 'client key', 'server key'];
      const found = new Set(
        scan.output
          .trim()
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => `${key[Math.floor(Number(line.split(' ')[0]) / 2)]} in ${line.split(' ')[1]}`),
      );
      // The scan does find keys: the server's own, where it belongs. Nothing else.
      assert.deepEqual([...found], ['server key in /tls/tls.key']);
    });

    it('runs every container as uid 1000, on a read-only root filesystem', async () => {
      // The PKI is gone: the files it wrote say who it was.
      const files = await oneShot(
        new HardenedContainer(imageName('pki', tag))
          .withBindMounts([{ source: volumes.ca, target: '/out/ca', mode: 'ro' }])
          .withEntrypoint(['stat', '-c', '%u:%g %a %n', '/out/ca', '/out/ca/ca.key', '/out/ca/ca.crt']),
      );
      assert.deepEqual(files.output.trim().split('\n'), ['1000:1000 700 /out/ca', '1000:1000 600 /out/ca/ca.key', '1000:1000 644 /out/ca/ca.crt']);
      // A client kept waiting for a server that does not exist, to be looked at while it runs.
      const waiting = await client(volumes.client).withEnvironment({ SERVER_URL: 'https://nowhere.invalid:9443/', WAIT_FOR_SERVER_MS: '60000' }).start();
      containers.push(waiting);
      for (const [container, entry] of [[server, 'services/server/main.ts'], [waiting, 'services/client/main.ts']] as const) {
        // docker top lists them in no fixed order.
        assert.deepEqual((await processesOf(container.getId())).sort(), [`1000 /sbin/docker-init -- node ${entry}`, `1000 node ${entry}`].sort());
        const writes = await container.exec(['node', '-e', TRY_WRITE_SCRIPT, '/', '/app', '/tmp', '/home/node', '/tls']);
        assert.deepEqual(writes.output.trim().split('\n'), ['/ EROFS', '/app EROFS', '/tmp EROFS', '/home/node EROFS', '/tls EROFS']);
      }
      for (const container of containers) {
        assert.equal((await inspect(container.getId())).HostConfig.ReadonlyRootfs, true, container.getName());
      }
    });

    it('docker stop: SIGTERM ends the server cleanly and the client at once, no SIGKILL needed', async (t) => {
      const api = await dockerApi();
      const waiting = await client(volumes.client).withEnvironment({ SERVER_URL: 'https://nowhere.invalid:9443/', WAIT_FOR_SERVER_MS: '60000' }).start();
      containers.push(waiting);
      // A container that ignored SIGTERM would be killed after the timeout: exit code 137.
      // 143 is 128 + SIGTERM: node's default action, once the init passed the signal on.
      for (const [role, container, expectedExit] of [['server', server, 0], ['client', waiting, 143]] as const) {
        const started = Date.now();
        await api.getContainer(container.getId()).stop({ t: 20 });
        t.diagnostic(`docker stop ${role}: ${Date.now() - started} ms`);
        assert.equal((await inspect(container.getId())).State.ExitCode, expectedExit, role);
      }
      assert.deepEqual(
        [...events(await logsOf(server.getId()), 'shutting_down'), ...events(await logsOf(server.getId()), 'stopped')].map(({ event }) => event),
        ['shutting_down', 'stopped'],
      );
    });
  });
});
