import type { ChildProcess } from 'node:child_process';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { privateKeyToPem } from '../../core/key-types.ts';
import { readCaConfig, readEnrollmentRequests, type CaConfig } from '../../services/ca/config.ts';
import { runInit } from '../../services/ca/init.ts';
import { startCa, type RunningCa } from '../../services/ca/serve.ts';
import { createCsr, generateKey } from '../../core/x509.ts';
import { memoryLog } from './server.ts';
import { CA_OPENSSL_CONF } from '../../services/ca/openssl-config.ts';
import { openssl, ROOT, run, spawn, temporaryDirectory, type RunResult } from './processes.ts';

export interface TestCa extends RunningCa {
  dir: string;
  config: CaConfig;
  caPem: string;
  log: ReturnType<typeof memoryLog>;
  /** Mints a token the way operators do (init --enroll) and returns it. */
  token(identity: string, role: string, config?: Partial<CaConfig>): Promise<string>;
}

/** Our CA, in process, on an ephemeral loopback port, its files and database in a fresh temporary directory. */
export async function startTestCa(env: NodeJS.ProcessEnv = {}): Promise<TestCa> {
  const dir = await temporaryDirectory('mtls-ca-');
  const config = readCaConfig({ CA_DIR: join(dir, 'ca'), CA_PORT: '0', CA_HOST: '127.0.0.1', ...env });
  await runInit(config, [], memoryLog());
  const log = memoryLog();
  const ca = await startCa(config, log);
  let minted = 0;
  return {
    ...ca,
    dir,
    config,
    log,
    caPem: await readFile(join(config.caDir, 'ca.crt'), 'utf8'),
    async token(identity, role, overrides = {}) {
      const tokenDir = join(dir, 'bootstrap', `${identity}-${++minted}`);
      await runInit({ ...config, ...overrides }, readEnrollmentRequests(['--enroll', `${identity}:${role}:${tokenDir}`]), memoryLog());
      return readFile(join(tokenDir, 'token'), 'utf8');
    },
  };
}

/** Where a CA answers, and the certificate to trust it by. */
export interface CaEndpoint {
  port: number;
  caPem: string;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
  /** Whether the request went over a connection (or TLS session) used before. */
  reusedSocket: boolean;
  sessionReused: boolean;
}

export interface CallOptions {
  method?: string;
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: unknown;
  contentType?: string | null;
  headers?: Record<string, string>;
  /** The client certificate to present. */
  identity?: { certificatePem: string; key: KeyObject };
  /** For kept-alive connections and session reuse; default: a new connection, no session cache. */
  agent?: https.Agent;
}

/** One HTTPS request to the CA, trusting only its CA certificate (as an agent does). */
export function call(ca: CaEndpoint, path: string, options: CallOptions = {}): Promise<Reply> {
  const { method = options.body === undefined ? 'GET' : 'POST', body, contentType = 'application/json' } = options;
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: ca.port,
        path,
        method,
        ca: ca.caPem,
        agent: options.agent ?? false,
        headers: { ...(contentType === null ? {} : { 'content-type': contentType }), ...options.headers },
        ...(options.identity === undefined ? {} : { cert: options.identity.certificatePem, key: privateKeyToPem(options.identity.key) }),
      },
      (response) => {
        // A kept-alive socket goes back to the agent's pool at the end of the response: read it now.
        const sessionReused = (response.socket as TLSSocket).isSessionReused();
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: parseJson(text),
            reusedSocket: request.reusedSocket,
            sessionReused,
          });
        });
      },
    );
    // The CA may answer (413) and close before it has read a large body: the answer is what counts.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (!request.writableEnded || error.code !== 'EPIPE') reject(error);
    });
    if (payload === undefined) request.end();
    else request.end(payload);
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** A workload's side: a CSR for `key`, naming whatever the caller wants. */
export function csrFor(key: KeyObject, commonName = 'client', names = [commonName]): string {
  return createCsr({ key, commonName, names: names.map((value) => ({ type: 'dns', value })) });
}

export function newKey(): Promise<KeyObject> {
  return generateKey({ type: 'ecdsa', curve: 'P-256' });
}

export interface Enrolled {
  certificatePem: string;
  certificate: X509Certificate;
  key: KeyObject;
  reply: Reply;
}

/** Enrolls with a fresh key; the CA must answer 201. */
export async function enrollWith(ca: CaEndpoint, token: string, commonName = 'client', extra: Record<string, unknown> = {}): Promise<Enrolled> {
  const key = await newKey();
  const reply = await call(ca, '/enroll', { body: { token, csr: csrFor(key, commonName), ...extra } });
  if (reply.status !== 201) throw new Error(`enroll answered ${reply.status}: ${reply.text}`);
  const certificatePem = String(reply.json?.['certificate']);
  return { certificatePem, certificate: new X509Certificate(certificatePem), key, reply };
}

/** Renews `current` with a fresh key (or the one given); returns the reply whatever its status. */
export async function renewWith(
  ca: CaEndpoint,
  current: { certificatePem: string; key: KeyObject },
  options: { commonName?: string; key?: KeyObject; agent?: https.Agent } = {},
): Promise<{ reply: Reply; key: KeyObject }> {
  const key = options.key ?? (await newKey());
  const body = { csr: csrFor(key, options.commonName ?? 'client') };
  const reply = await call(ca, '/renew', { body, identity: current, ...(options.agent === undefined ? {} : { agent: options.agent }) });
  return { reply, key };
}

/** `openssl verify` of a certificate against the CA, for one purpose: the independent judge of what the CA issued. */
export async function opensslVerify(ca: TestCa, certificatePem: string, purpose: 'sslclient' | 'sslserver'): Promise<{ code: number | null; output: string }> {
  const file = join(ca.dir, `verify-${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(file, certificatePem);
  const result = await openssl('verify', '-x509_strict', '-CAfile', join(ca.config.caDir, 'ca.crt'), '-purpose', purpose, file);
  return { code: result.code, output: result.stdout + result.stderr };
}

/** `openssl x509 -text` of a PEM certificate. */
export async function opensslText(ca: TestCa, certificatePem: string): Promise<string> {
  const file = join(ca.dir, `text-${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(file, certificatePem);
  return (await openssl('x509', '-in', file, '-noout', '-text')).stdout;
}

export const CA_MAIN = join(ROOT, 'services/ca/main.ts');

/** `node services/ca/main.ts ARGS` to completion, with CA_DIR and the rest of `env`. */
export function runCaCommand(env: NodeJS.ProcessEnv, ...args: string[]): Promise<RunResult> {
  return run(process.execPath, [CA_MAIN, ...args], { env: { ...process.env, ...env } });
}

/** The JSON lines a CA command printed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface CaProcess {
  child: ChildProcess;
  port: number;
  listening: Record<string, unknown>;
  /** SIGTERM, then the exit code (or the signal that ended it) and everything it printed. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: Record<string, unknown>[] }>;
}

/** `serve` as a real process on an ephemeral loopback port; resolves once it logs `listening`. */
export async function serveProcess(env: NodeJS.ProcessEnv): Promise<CaProcess> {
  const child = spawn(process.execPath, [CA_MAIN, 'serve'], {
    cwd: ROOT,
    // As the image runs it (its Dockerfile target sets OPENSSL_CONF).
    env: { ...process.env, CA_PORT: '0', CA_HOST: '127.0.0.1', OPENSSL_CONF: CA_OPENSSL_CONF, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not log "listening" in 15 s: ${stdout}`)), 15_000);
    const look = () => {
      const event = jsonLines(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).find((line) => line['event'] === 'listening');
      if (event === undefined) return;
      clearTimeout(timer);
      child.stdout?.off('data', look);
      resolve(event);
    };
    child.stdout?.on('data', look);
    void exited.then(({ code }) => reject(new Error(`serve exited ${code} before listening: ${stdout}`)));
  });
  return {
    child,
    listening,
    port: Number(new URL(String(listening['url'])).port),
    async stop() {
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      return { code, signal, lines: jsonLines(stdout) };
    },
  };
}
