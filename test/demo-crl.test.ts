// The failure demo's CRL: the one-shot PKI revokes the demo identity of the
// "revoked" row, the server's folder carries the CRL, OpenSSL and our server
// refuse that client and no other; a rerun keeps it, a new CA drops it.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCrl } from '../core/crl.ts';
import { openssl, runPkiCommand, temporaryDirectory } from './helpers/processes.ts';
import { startTestServer } from './helpers/server.ts';

async function get(url: string, dir: string): Promise<number> {
  const read = (file: string) => readFile(join(dir, file));
  const options = { cert: await read('tls.crt'), key: await read('tls.key'), ca: await read('ca.crt'), servername: 'localhost', agent: false };
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

/** The PKI command as `make demo` runs it, into a fresh directory. */
async function issueDemo(): Promise<string> {
  const out = join(await temporaryDirectory('mtls-demo-crl-'), 'out');
  const result = await runPkiCommand('--method', 'method1', '--out', out, '--with-demo-identities');
  assert.equal(result.code, 0, result.stderr);
  return out;
}

describe('pki --with-demo-identities writes a CRL for the revoked row', () => {
  it('server/crl.pem verifies against the CA, revokes demo-revoked only, and lives as long as the server certificate', async () => {
    const out = await issueDemo();
    const crlFile = join(out, 'server', 'crl.pem');
    const verified = await openssl('crl', '-in', crlFile, '-CAfile', join(out, 'ca', 'ca.crt'), '-noout', '-verify');
    assert.equal(verified.code, 0, verified.stderr);
    const check = (dir: string) => openssl('verify', '-crl_check', '-CRLfile', crlFile, '-CAfile', join(out, 'ca', 'ca.crt'), join(out, dir, 'tls.crt'));
    const revoked = await check('demo-revoked');
    assert.equal(revoked.code, 2);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
    for (const dir of ['client', 'demo-not-allowed']) assert.equal((await check(dir)).code, 0, dir);
    const crl = parseCrl(await readFile(crlFile, 'utf8'));
    const server = new X509Certificate(await readFile(join(out, 'server', 'tls.crt')));
    assert.equal(crl.nextUpdate?.getTime(), Math.floor(server.validToDate.getTime() / 1000) * 1000);
  });

  it('our server refuses the demo-revoked client (CERT_REVOKED) and serves the real client', async () => {
    const out = await issueDemo();
    const server = await startTestServer(join(out, 'server'), ['client', 'demo-revoked']);
    try {
      await assert.rejects(get(server.url(), join(out, 'demo-revoked')), { code: 'ECONNRESET' });
      const failed = await server.log.waitFor((event) => event.event === 'handshake_failed');
      assert.equal(failed['code'], 'CERT_REVOKED');
      assert.equal(await get(server.url(), join(out, 'client')), 200);
    } finally {
      await server.close();
    }
  });

  it('a rerun keeps the CRL byte for byte; a plain run under a new CA (--force) removes it and says so', async () => {
    const out = await issueDemo();
    const crlFile = join(out, 'server', 'crl.pem');
    const before = await readFile(crlFile, 'utf8');
    const rerun = await runPkiCommand('--method', 'method1', '--out', out, '--with-demo-identities');
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(await readFile(crlFile, 'utf8'), before);
    const forced = await runPkiCommand('--method', 'method1', '--out', out, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /crl\.pem removed \(signed by another CA; the failures profile writes a new one\)/);
    await assert.rejects(access(crlFile), { code: 'ENOENT' });
  });
});
