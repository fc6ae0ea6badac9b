// method1 in containers with another key type: `PKI_KEY_TYPE=ecdsa docker
// compose --profile method1 up`, as the README tells people to run it.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import tls from 'node:tls';
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment } from 'testcontainers';
import {
  buildImages,
  compose,
  composeContainerId,
  describeWithDocker,
  exitCodeOf,
  logsOf,
  PUBLISH_ON_FREE_PORT,
  removeImages,
  uniqueName,
} from './helpers/docker.ts';
import { ROOT } from './helpers/processes.ts';

/** The key of the certificate the server presents, seen from the host (no client certificate needed to see it). */
function serverKey(host: string, port: number): Promise<{ type: string | undefined; curve: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: 'server', rejectUnauthorized: false }, () => {
      const key = socket.getPeerX509Certificate()?.publicKey;
      socket.destroy();
      resolve({ type: key?.asymmetricKeyType, curve: key?.asymmetricKeyDetails?.namedCurve });
    });
    socket.once('error', reject);
  });
}

await describeWithDocker('containers: PKI_KEY_TYPE=ecdsa docker compose --profile method1 up', () => {
  const tag = uniqueName('test-keytypes');
  const project = uniqueName('mtls-keytypes');
  const env = { IMAGE_TAG: tag, PKI_KEY_TYPE: 'ecdsa' };
  let environment: StartedDockerComposeEnvironment | undefined;

  before(async () => {
    await buildImages(tag);
    environment = await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
      .withProjectName(project)
      .withProfiles('method1')
      .withEnvironment({ ...env, ...PUBLISH_ON_FREE_PORT })
      .up();
  });
  after(async () => {
    await environment?.down({ removeVolumes: false });
    const down = await compose(['-p', project, '--profile', 'method1', 'down', '--volumes', '--remove-orphans'], env);
    await removeImages(tag);
    assert.equal(down.code, 0, down.stderr);
  });

  it('the PKI issues ECDSA P-256 material and says so', async () => {
    const output = await logsOf(await composeContainerId(project, 'pki'));
    assert.match(output, /^method1 → \/out \(ECDSA P-256, CA 365 days, leaves 90 days\)$/m);
    assert.match(output, /3 issued, 0 kept\./);
  });

  it('the client verifies the server, is verified, and exits 0', async () => {
    const client = await composeContainerId(project, 'client');
    const exitCode = await exitCodeOf(client);
    const output = await logsOf(client);
    assert.equal(exitCode, 0, output);
    assert.equal(output.trim().split('\n').at(-1), 'result:  OK (mutual TLS: both sides verified)');
  });

  it('the published server presents an ECDSA P-256 certificate', async () => {
    const server = environment?.getContainer('server-1');
    assert.ok(server !== undefined);
    assert.deepEqual(await serverKey(server.getHost(), server.getMappedPort(9443)), { type: 'ec', curve: 'prime256v1' });
  });
});
