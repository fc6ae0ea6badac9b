// Every key type the PKI issues, against TLS stacks that are not ours: curl
// against our server process, and our client process against openssl s_server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issue } from './helpers/material.ts';
import { ROOT, run } from './helpers/processes.ts';
import { startSServer } from './helpers/s-server.ts';

const KINDS = [
  { key: { keyType: 'rsa' }, label: 'RSA-2048', tls12Suite: /ECDHE-RSA-/ },
  { key: { keyType: 'ecdsa' }, label: 'ECDSA P-256', tls12Suite: /ECDHE-ECDSA-/ },
  { key: { keyType: 'ecdsa', curve: 'P-384' }, label: 'ECDSA P-384', tls12Suite: /ECDHE-ECDSA-/ },
  // TLS 1.2 has no suites of its own for Ed25519: it signs in the ECDHE-ECDSA ones (RFC 8422).
  { key: { keyType: 'ed25519' }, label: 'Ed25519', tls12Suite: /ECDHE-ECDSA-/ },
];

for (const kind of KINDS) {
  describe(`${kind.label}: curl against our server process`, () => {
    let out: string;
    let server: ChildProcess;
    let url: string;
    before(async () => {
      out = await issue('method1', kind.key);
      server = spawn(process.execPath, [join(ROOT, 'services/server/main.ts')], {
        env: { ...process.env, TLS_DIR: join(out, 'server'), PORT: '0', HEALTH_PORT: '', HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const listening = JSON.parse(await lineMatching(server, /"event":"listening"/)) as { url: string };
      url = `https://localhost:${new URL(listening.url).port}/`;
    });
    after(async () => {
      server.kill('SIGTERM');
      if (server.exitCode === null) await once(server, 'exit');
    });

    for (const [version, maxArgs, expected] of [
      ['TLS 1.3', [], /SSL connection using TLSv1\.3 \/ TLS_/],
      ['TLS 1.2', ['--tls-max', '1.2'], new RegExp(`SSL connection using TLSv1\\.2 / ${kind.tls12Suite.source}`)],
    ] as const) {
      it(`curl --cert with the ${kind.label} client certificate gets the greeting over ${version}`, async () => {
        const client = (file: string) => join(out, 'client', file);
        const result = await run('curl', ['-sS', '-v', ...maxArgs, '--cert', client('tls.crt'), '--key', client('tls.key'), '--cacert', client('ca.crt'), url]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, expected);
        assert.equal(result.stdout, 'Hello client, from server (mTLS verified)\n');
      });
    }

    it('curl without a client certificate is refused', async () => {
      const result = await run('curl', ['-sS', '--cacert', join(out, 'client', 'ca.crt'), url]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /alert certificate required|alert handshake failure/);
    });
  });

  describe(`${kind.label}: our client process against openssl s_server -Verify 1`, () => {
    for (const [version, protocolArgs] of [['TLS 1.3', []], ['TLS 1.2', ['-tls1_2']]] as const) {
      it(`is accepted over ${version}, and s_server verified our client certificate`, async () => {
        const out = await issue('method1', kind.key);
        await using sServer = await startSServer(join(out, 'server'), protocolArgs);
        // s_server reports each certificate it verified on stderr.
        const verified = sServer.lineMatching(/^depth=0 CN = client$/, 'stderr');
        const result = await run(process.execPath, [join(ROOT, 'services/client/main.ts')], {
          env: { ...process.env, TLS_DIR: join(out, 'client'), SERVER_URL: `https://localhost:${sServer.port}/`, WAIT_FOR_SERVER_MS: '0' },
        });
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, new RegExp(`TLSv1\\.${version.endsWith('3') ? '3' : '2'}`));
        await verified;
      });
    }
  });
}

/** The first line of the child's output that matches (bounded: 10 s). */
function lineMatching(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in: ${seen}`)), 10_000);
    child[stream]?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((candidate) => pattern.test(candidate));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}
