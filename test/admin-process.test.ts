// The admin program as a real process against a real CA process: it enrolls
// once with its token, keeps its certificate, revokes and lists; a workload's
// certificate in its place is refused by the CA.
import assert from 'node:assert/strict';
import { cp, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileAtomic } from '../core/files.ts';
import { normalizeSerial } from '../core/certificate.ts';
import { parseCrl } from '../core/crl.ts';
import { call, enrollWith, runCaCommand, serveProcess, type CaProcess } from './helpers/ca.ts';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';

const ADMIN_MAIN = join(ROOT, 'services/admin/main.ts');

describe('the admin program', () => {
  let dir: string;
  let ca: CaProcess;
  let env: NodeJS.ProcessEnv;
  let clientSerial: string;
  const admin = (...args: string[]) => run(process.execPath, [ADMIN_MAIN, ...args], { env: { ...process.env, ...env } });
  before(async () => {
    dir = await temporaryDirectory('mtls-admin-');
    const caEnv = { CA_DIR: join(dir, 'ca'), CERT_TTL: '10m' };
    const init = await runCaCommand(caEnv, 'init', '--enroll', `admin:admin:${join(dir, 'admin')}`, '--enroll', `client:client:${join(dir, 'client')}`);
    assert.equal(init.code, 0, init.stderr);
    ca = await serveProcess(caEnv);
    const caPem = await readFile(join(dir, 'ca', 'ca.crt'), 'utf8');
    const client = await enrollWith({ port: ca.port, caPem }, await readFile(join(dir, 'client', 'token'), 'utf8'));
    clientSerial = client.certificate.serialNumber;
    env = { CA_URL: `https://localhost:${ca.port}/`, ADMIN_DIR: join(dir, 'admin') };
  });
  after(() => ca.stop());

  it('list: enrolls with its token (key 0600), then prints the inventory as an aligned table', async () => {
    const result = await admin('list');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /admin: enrolled as CN=admin/);
    assert.equal(((await stat(join(dir, 'admin', 'tls.key'))).mode & 0o777).toString(8), '600');
    const [header, ...rows] = result.stdout.trim().split('\n');
    assert.match(header ?? '', /^SERIAL\s+IDENTITY\s+ROLE\s+NOT BEFORE\s+NOT AFTER\s+STATUS/);
    const client = rows.find((row) => row.startsWith(clientSerial));
    assert.match(client ?? '', /\sclient\s+client\s.*\sissued/);
    assert.equal(header?.indexOf('IDENTITY'), client?.indexOf('client'), 'columns aligned');
  });

  it('revoke client: exit 0, says what it revoked; the CA\'s CRL lists it; list --json shows it revoked, with the same certificate (no second enrollment)', async () => {
    const adminCert = await readFile(join(dir, 'admin', 'tls.crt'), 'utf8');
    const result = await admin('revoke', 'client', '--reason', 'keyCompromise');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^revoked 1 certificate\\(s\\) of client \\(reason keyCompromise\\): ${clientSerial}`));
    assert.equal(result.stderr, '', 'the kept certificate is used as it is');
    const crl = parseCrl((await call({ port: ca.port, caPem: await readFile(join(dir, 'ca', 'ca.crt'), 'utf8') }, '/crl.pem')).text);
    assert.ok(crl.revokedSerials.has(normalizeSerial(clientSerial)));
    const list = await admin('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const rows = (JSON.parse(list.stdout) as { certificates: { serial: string; status: string; revocationReason: string }[] }).certificates;
    const row = rows.find((candidate) => candidate.serial === clientSerial);
    assert.equal(row?.status, 'revoked');
    assert.equal(row?.revocationReason, 'keyCompromise');
    assert.equal(await readFile(join(dir, 'admin', 'tls.crt'), 'utf8'), adminCert);
  });

  it('refuses a workload certificate put in the admin\'s place: exit 1, ROLE_FORBIDDEN', async () => {
    const stolen = join(dir, 'stolen');
    await cp(join(dir, 'admin'), stolen, { recursive: true });
    // The client's own certificate and key (revoked or not, a workload is not an admin): enroll a fresh one.
    const init = await runCaCommand({ CA_DIR: join(dir, 'ca') }, 'init', '--enroll', `client2:client:${join(dir, 'client2')}`);
    assert.equal(init.code, 0, init.stderr);
    const caPem = await readFile(join(dir, 'ca', 'ca.crt'), 'utf8');
    const workload = await enrollWith({ port: ca.port, caPem }, await readFile(join(dir, 'client2', 'token'), 'utf8'), 'client2');
    await writeFileAtomic(join(stolen, 'tls.crt'), workload.certificatePem, 0o644);
    await writeFileAtomic(join(stolen, 'tls.key'), workload.key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    const result = await run(process.execPath, [ADMIN_MAIN, 'revoke', 'admin'], { env: { ...process.env, ...env, ADMIN_DIR: stolen } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^admin: administration needs a certificate of role admin; this one is "client2", role client \(ROLE_FORBIDDEN\)\n$/);
  });

  it('bad command lines: exit 2, one line, then the usage', async () => {
    for (const args of [['revoke'], ['revoke', 'a', 'b'], ['revoke', 'client', '--reason', 'bored'], ['frobnicate'], ['list', 'extra']]) {
      const result = await admin(...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /^admin: .+\nusage: admin <command>/);
    }
  });
});
