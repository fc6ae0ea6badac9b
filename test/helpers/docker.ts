// Docker for the container tests: is there an engine, build the images, run
// containers the way docker-compose.yml does, and look inside them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { GenericContainer, getContainerRuntimeClient, StartupCheckStrategy, type StartedTestContainer, type StartupStatus } from 'testcontainers';
import { ROOT } from './processes.ts';

// testcontainers reads these when first used, not at import. Ryuk (its
// clean-up container) would have to be pulled; the tests clean up themselves.
// Without a host override it would pull an image to find the engine's address.
process.env['TESTCONTAINERS_RYUK_DISABLED'] ??= 'true';
process.env['TESTCONTAINERS_HOST_OVERRIDE'] ??= 'localhost';

export const ROLES = ['pki', 'server', 'client'] as const;
export type Role = (typeof ROLES)[number];

export const HOW_TO_GET_DOCKER =
  'the container tests need a running Docker engine with Compose v2 (`docker info` and `docker compose version` must work): ' +
  'install Docker Engine or Docker Desktop, or run .ci/docker-engine.sh as root on Debian';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in the repository, without a shell; never rejects on a non-zero exit. */
export function command(file: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 << 20 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** Why the container tests cannot run here, or undefined when they can. */
export async function dockerProblem(): Promise<string | undefined> {
  const info = await command('docker', ['info', '--format', '{{.ServerVersion}}'], {}, 20_000).catch((error: Error) => ({ code: -1, stdout: '', stderr: error.message }));
  if (info.code !== 0) return `no Docker engine (docker info: ${firstLine(info.stderr) || `exit ${info.code}`})`;
  const compose = await command('docker', ['compose', 'version', '--short'], {}, 20_000);
  if (compose.code !== 0) return `no Docker Compose v2 (docker compose version: ${firstLine(compose.stderr)})`;
  return undefined;
}

/**
 * describe() for a suite that needs Docker: skipped, with the reason, where
 * there is no engine; failed in CI (CI=true), where a skipped suite would
 * pass unnoticed.
 */
export async function describeWithDocker(name: string, suite: () => void): Promise<void> {
  const problem = await dockerProblem();
  if (problem !== undefined && ['true', '1'].includes(process.env['CI'] ?? '')) {
    describe(name, () => {
      it('need a Docker engine with Compose v2 in CI', () => assert.fail(`${problem}; ${HOW_TO_GET_DOCKER}`));
    });
    return;
  }
  describe(name, { skip: problem === undefined ? false : `${problem}; ${HOW_TO_GET_DOCKER}` }, suite);
}

/** A name no other run uses: for image tags, compose projects and volumes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The image docker-compose.yml uses for a role, under a tag of our own. */
export function imageName(role: Role, tag: string): string {
  return `mtls-demo/${role}:${tag}`;
}

/**
 * Builds the three images from the working tree exactly as `make build`
 * does (docker-compose.yml's build sections, BuildKit, NODE_IMAGE from the
 * environment), under `tag`; Compose shows the build's errors, should it fail.
 * method1's services build them; method2's use the same three images.
 */
export async function buildImages(tag: string): Promise<void> {
  const result = await compose(['--profile', 'method1', 'build'], { IMAGE_TAG: tag }, 15 * 60_000);
  if (result.code !== 0) throw new Error(`docker compose build failed:\n${result.stdout}\n${result.stderr}`);
}

export async function removeImages(tag: string): Promise<void> {
  await command('docker', ['image', 'rm', ...ROLES.map((role) => imageName(role, tag))]);
}

/** The server's port mapping in tests: a free host port, never a fixed one. */
export const PUBLISH_ON_FREE_PORT = { SERVER_PUBLISH: '9443' };

/** `docker compose -f docker-compose.yml ...` */
export function compose(args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<CommandResult> {
  return command('docker', ['compose', '-f', 'docker-compose.yml', ...args], { ...PUBLISH_ON_FREE_PORT, ...env }, timeoutMs);
}

type Dockerode = Awaited<ReturnType<typeof getContainerRuntimeClient>>['container']['dockerode'];
let dockerode: Promise<Dockerode> | undefined;

/** The Docker API client testcontainers already holds. */
export function dockerApi(): Promise<Dockerode> {
  dockerode ??= getContainerRuntimeClient().then((client) => client.container.dockerode);
  return dockerode;
}

/** The container of a compose service, running or exited. */
export async function composeContainerId(project: string, service: string): Promise<string> {
  const [found, ...more] = await (await dockerApi()).listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] },
  });
  if (found === undefined || more.length > 0) throw new Error(`expected one container for ${project}/${service}, found ${more.length + (found ? 1 : 0)}`);
  return found.Id;
}

/** stdout and stderr, as `docker logs` prints them. */
export async function logsOf(id: string): Promise<string> {
  const result = await command('docker', ['logs', id]);
  return result.stdout + result.stderr;
}

/** Waits for the container to exit and returns its exit code. */
export async function exitCodeOf(id: string): Promise<number> {
  const { StatusCode } = (await (await dockerApi()).getContainer(id).wait()) as { StatusCode: number };
  return StatusCode;
}

export async function inspect(id: string) {
  return (await dockerApi()).getContainer(id).inspect();
}

/** Every process in the container with its uid, as the host's `ps` sees them (`docker top`). */
export async function processUids(id: string): Promise<{ uid: string; command: string }[]> {
  // Docker needs the pid column to pick the container's processes out of the host's.
  const top = (await (await dockerApi()).getContainer(id).top({ ps_args: '-o pid,uid,args' })) as { Processes: string[][] };
  return top.Processes.map(([, uid = '', command = '']) => ({ uid, command }));
}

/**
 * A container hardened as in docker-compose.yml's x-hardened: read-only root
 * filesystem, no capabilities, no privilege gain, an init as PID 1.
 * testcontainers has no builder for the first and the last.
 */
export class HardenedContainer extends GenericContainer {
  constructor(image: string) {
    super(image);
    this.hostConfig.ReadonlyRootfs = true;
    this.hostConfig.Init = true;
    this.withDroppedCapabilities('ALL').withSecurityOpt('no-new-privileges:true');
  }
}

/** "Started" as soon as Docker started it: for one-shot containers, awaited with exitCodeOf(). */
class StartedAtOnce extends StartupCheckStrategy {
  override async checkStartupState(): Promise<StartupStatus> {
    return 'SUCCESS';
  }
}

export interface Run {
  container: StartedTestContainer;
  exitCode: number;
  output: string;
}

/** Starts a one-shot container and waits for it to exit; the caller removes it (container.stop()). */
export async function runToExit(container: GenericContainer): Promise<Run> {
  const started = await container.withWaitStrategy(new StartedAtOnce()).start();
  const exitCode = await exitCodeOf(started.getId());
  return { container: started, exitCode, output: await logsOf(started.getId()) };
}

/**
 * The files under / (except /proc, /sys, /dev) that contain any of the
 * byte strings, as the container's own user can read them: a script for
 * `node -e`, run inside the container. Prints "index path" per hit.
 */
export const FIND_BYTES_SCRIPT = `
const fs = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
const needles = process.argv.slice(1).map((hex) => Buffer.from(hex, 'hex'));
const skip = new Set(['/proc', '/sys', '/dev']);
(function walk(dir) {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory() && !skip.has(file)) walk(file);
    if (!entry.isFile()) continue;
    let data;
    try { data = fs.readFileSync(file); } catch { continue; }
    needles.forEach((needle, index) => { if (data.includes(needle)) console.log(index + ' ' + file); });
  }
})('/');
`;

/** For each directory: "WRITABLE" or the error code of a write attempt (EROFS, EACCES). */
export const TRY_WRITE_SCRIPT = `
const fs = process.getBuiltinModule('node:fs');
for (const dir of process.argv.slice(1)) {
  const file = dir.replace(/\\/$/, '') + '/.write-probe';
  try { fs.writeFileSync(file, 'x'); fs.rmSync(file); console.log(dir + ' WRITABLE'); }
  catch (error) { console.log(dir + ' ' + error.code); }
}
`;

/** Removes named volumes; one that was never created is fine. */
export async function removeVolumes(names: string[]): Promise<void> {
  const api = await dockerApi();
  await Promise.all(
    names.map((name) =>
      api
        .getVolume(name)
        .remove()
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        }),
    ),
  );
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
