// `npm run pki -- ... --json`: what scripts read, by key. The fingerprint
// and the names are checked against openssl, not against our own summary.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { SCENARIOS } from '../demo/scenarios.ts';
import type { PkiDocument } from '../pki/report.ts';
import { openssl, runPkiCommand, temporaryDirectory } from './helpers/processes.ts';
import { DAY_MS } from '../pki/certificates.ts';

async function pkiJson(...args: string[]): Promise<PkiDocument> {
  const result = await runPkiCommand(...args, '--json');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
  return JSON.parse(result.stdout) as PkiDocument;
}

/** openssl's view of a certificate: SHA-256 fingerprint, dates and names. */
async function opensslView(file: string) {
  const fingerprint = await openssl('x509', '-in', file, '-noout', '-fingerprint', '-sha256');
  const text = await openssl('x509', '-in', file, '-noout', '-ext', 'subjectAltName', '-subject', '-enddate');
  return { fingerprint: fingerprint.stdout.trim().replace(/^sha256 Fingerprint=/i, ''), text: text.stdout };
}

describe('pki --json', () => {
  let out: string;
  let first: PkiDocument;
  before(async () => {
    out = join(await temporaryDirectory(), 'out');
    first = await pkiJson('--method', 'method1', '--out', out);
  });

  it('says per identity what was issued and why, with subject, SANs, validity and fingerprint', async () => {
    assert.equal(first.method, 'method1');
    assert.equal(first.out, out);
    assert.deepEqual([first.key, first.days, first.leafDays], ['RSA-2048', 365, 90]);
    assert.deepEqual(
      first.identities.map(({ identity, action, reason }) => ({ identity, action, reason })),
      [
        { identity: 'ca', action: 'issued', reason: 'no CA yet' },
        { identity: 'server', action: 'issued', reason: 'new CA' },
        { identity: 'client', action: 'issued', reason: 'new CA' },
      ],
    );
    const server = first.identities.find(({ identity }) => identity === 'server')?.certificate;
    assert.ok(server !== null && server !== undefined);
    assert.equal(server.subject, 'CN=server');
    assert.deepEqual(server.subjectAltNames, ['DNS:server', 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
    assert.deepEqual(server.extendedKeyUsage, ['serverAuth']);
    const view = await opensslView(join(out, 'server', 'tls.crt'));
    assert.equal(server.fingerprint256, view.fingerprint);
    assert.match(view.text, /DNS:server, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    assert.equal(Date.parse(server.validTo), Date.parse(/notAfter=(.+)/.exec(view.text)?.[1] ?? ''));
    // 90 days, from a few minutes back (for clocks a little behind).
    const days = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / DAY_MS;
    assert.ok(days >= 90 && days < 90.1, String(days));
  });

  it('a rerun says "kept" for every identity, with the same fingerprints', async () => {
    const again = await pkiJson('--method', 'method1', '--out', out);
    assert.deepEqual(
      again.identities.map(({ identity, action, certificate }) => ({ identity, action, fingerprint: certificate?.fingerprint256 })),
      first.identities.map(({ identity, certificate }) => ({ identity, action: 'kept', fingerprint: certificate?.fingerprint256 })),
    );
    assert.deepEqual(
      again.identities.map(({ reason }) => reason),
      ['existing CA kept', 'valid and current', 'valid and current'],
    );
  });

  it('lists the demo identities, one per scenario of the table, after the real ones', async () => {
    const demo = await pkiJson('--method', 'method1', '--out', out, '--with-demo-identities');
    assert.deepEqual(
      demo.identities.map(({ identity, action }) => `${identity} ${action}`),
      ['ca kept', 'server kept', 'client kept', ...SCENARIOS.map(({ id }) => `demo-${id} issued`)],
    );
    const noCert = demo.identities.find(({ identity }) => identity === 'demo-no-cert');
    assert.deepEqual(noCert, { identity: 'demo-no-cert', action: 'issued', reason: 'not there yet; trusts the CA, presents nothing', certificate: null });
    const kept = await pkiJson('--method', 'method1', '--out', out, '--with-demo-identities');
    assert.ok(kept.identities.every(({ action }) => action === 'kept'), JSON.stringify(kept.identities));
  });

  it('method2: both folders, the same certificate; leafDays is null', async () => {
    const shared = await pkiJson('--method', 'method2', '--out', join(await temporaryDirectory(), 'out'));
    assert.equal(shared.leafDays, null);
    const [server, client] = shared.identities;
    assert.deepEqual([server?.identity, client?.identity], ['server', 'client']);
    assert.equal(server?.certificate?.fingerprint256, client?.certificate?.fingerprint256);
  });

  it('--help lists --json', async () => {
    const help = await runPkiCommand('--help');
    assert.match(help.stdout, /^ {2}--json +print the report as one line of JSON/m);
  });

  it('bad input with --json: still one line on stderr, exit 2', async () => {
    const result = await runPkiCommand('--method', 'method3', '--json');
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^pki: .*\(see --help\)\n$/);
  });
});
