// The benchmark runs, prints a well-formed table and cleans up. No timing is asserted.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';

describe('npm run bench (smoke, tiny bounds)', () => {
  it('prints the table and both ratios, saves JSON, and leaves no server running', async () => {
    const out = await temporaryDirectory('mtls-bench-');
    const tiny = ['--repeat', '1', '--seconds', '0.3', '--warmup', '0', '--max-requests', '40', '--handshake-rate', '0', '--keepalive-rate', '0', '--kinds-repeat', '1', '--pki-runs', '1'];
    const result = await run(process.execPath, [join(ROOT, 'bench/mtls.ts'), ...tiny, '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.split('\n').filter((line) => /^(handshake|keepalive) +(ours|baseline) /.test(line));
    assert.equal(rows.length, 4, result.stdout);
    for (const row of rows) assert.match(row, /^\w+ +\w+ +\d+ +[\d.]+ +[\d.]+ +0 +\d+ µs +[\d.]+ → [\d.]+$/);
    assert.match(result.stdout, /ours\/baseline, server CPU per full mTLS handshake: +[\d.]+×/);
    assert.match(result.stdout, /ours\/baseline, server CPU per kept-alive request: +[\d.]+×/);
    for (const kind of ['RSA-2048', 'RSA-3072', 'ECDSA P-256', 'Ed25519']) {
      assert.match(result.stdout, new RegExp(`^${kind} +\\d+ µs +\\d+ µs +[\\d.]+× +\\d+ +\\d+ +\\d+ µs$`, 'm'), kind);
    }
    assert.match(result.stdout, /^negotiated: TLSv1\.3 TLS_AES_\w+; errors in all cells: 0$/m);
    for (const kind of ['RSA-2048', 'ECDSA P-256', 'Ed25519']) assert.match(result.stdout, new RegExp(`^ {2}${kind}\n {4}openssl CLI sequence \\(8 commands\\) +[\\d.]+ ms +1\\.00×\n {4}pki/main.ts as a process +[\\d.]+ ms`, 'm'));
    const [file] = readdirSync(out);
    const saved = JSON.parse(readFileSync(join(out, file as string), 'utf8')) as { cells: { pid: number; errors: number }[]; byKeyType: unknown[] };
    assert.equal(saved.cells.length, 4);
    assert.equal(saved.byKeyType.length, 4);
    for (const cell of saved.cells) {
      assert.equal(cell.errors, 0);
      assert.equal(existsSync(`/proc/${cell.pid}`), false, `server ${cell.pid} was stopped`);
    }
  });
});
