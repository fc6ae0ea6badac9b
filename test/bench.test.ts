// The benchmark runs, prints well-formed tables and cleans up. No timing is asserted.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';

interface SavedCell {
  load: string;
  mode: string;
  server: string;
  pid: number;
  errors: number;
  completed: number;
  resumed: number;
}

describe('npm run bench (smoke, tiny bounds)', () => {
  it('prints both tables and every ratio, resumes sessions only in resume mode, saves JSON, and leaves no server running', async () => {
    const out = await temporaryDirectory('mtls-bench-');
    // Two connections at saturation, so that each makes several in a row and the later ones can resume.
    const tiny = ['--repeat', '1', '--saturation-repeat', '1', '--seconds', '0.3', '--warmup', '0', '--max-requests', '40', '--handshake-rate', '0', '--keepalive-rate', '0', '--saturation-concurrency', '2', '--kinds-repeat', '1', '--pki-runs', '1'];
    const result = await run(process.execPath, [join(ROOT, 'bench/mtls.ts'), ...tiny, '--out', out], { timeoutMs: 180_000 });
    assert.equal(result.code, 0, result.stderr);
    const [fixed, saturation] = result.stdout.split(/^at saturation /m);
    const rows = (text: string | undefined) => (text ?? '').split('\n').filter((line) => /^(handshake|keepalive|resume) +(ours|baseline) /.test(line));
    assert.deepEqual(rows(fixed).map((row) => row.split(/ +/).slice(0, 2).join(' ')), ['handshake ours', 'handshake baseline', 'keepalive ours', 'keepalive baseline']);
    assert.deepEqual(rows(saturation).map((row) => row.split(/ +/).slice(0, 2).join(' ')), ['keepalive ours', 'keepalive baseline', 'handshake ours', 'handshake baseline', 'resume ours', 'resume baseline']);
    for (const row of [...rows(fixed), ...rows(saturation)]) {
      const ratio = / ours /.test(row) ? ' +[\\d.]+×' : '';
      assert.match(row, new RegExp(`^\\w+ +\\w+ +\\d+ +[\\d.]+ +[\\d.]+ +0 +\\d+% +\\d+ µs${ratio} +[\\d.]+ → [\\d.]+$`));
    }
    assert.match(result.stdout, /server CPU per kept-alive request, ours\/bare: +[\d.]+× +\(target ≤ 1\.50×: (met|NOT met)\)/);
    // koa alone, at saturation and kept-alive only: its row and its two ratios.
    assert.match(saturation ?? '', /^keepalive +koa +\d+ +[\d.]+ +[\d.]+ +0 +\d+% +\d+ µs +[\d.]+× +[\d.]+ → [\d.]+$/m);
    assert.match(result.stdout, /^ {4}of which koa alone \(one middleware, the same body\), koa\/bare: [\d.]+×; what we add on top, ours\/koa: [\d.]+×$/m);
    assert.match(result.stdout, /server CPU per full mTLS handshake, ours\/bare: +[\d.]+× +\(target ≤ 1\.10×: (met|NOT met)\)/);
    assert.match(result.stdout, /server CPU per resumed handshake, ours\/bare: +[\d.]+× +\(target ≤ 1\.10×: (met|NOT met)\)/);
    assert.match(result.stdout, /ours, resumed\/full handshake: +[\d.]+× +\(target ≤ 0\.50×: (met|NOT met)\); bare: [\d.]+×/);
    assert.match(result.stdout, /connections that resumed a session in resume mode: ours \d+%, bare \d+%/);
    for (const kind of ['RSA-2048', 'RSA-3072', 'ECDSA P-256', 'Ed25519']) {
      assert.match(result.stdout, new RegExp(`^${kind} +\\d+ µs +\\d+ µs +[\\d.]+× +\\d+ +\\d+ +\\d+ µs$`, 'm'), kind);
    }
    assert.match(result.stdout, /^negotiated: TLSv1\.3 TLS_AES_\w+; errors in all cells: 0$/m);
    for (const kind of ['RSA-2048', 'ECDSA P-256', 'Ed25519']) assert.match(result.stdout, new RegExp(`^ {2}${kind}\n {4}openssl CLI sequence \\(8 commands\\) +[\\d.]+ ms +1\\.00×\n {4}pki/main.ts as a process +[\\d.]+ ms`, 'm'));
    const [file] = readdirSync(out);
    const saved = JSON.parse(readFileSync(join(out, file as string), 'utf8')) as { cells: SavedCell[]; byKeyType: unknown[] };
    assert.equal(saved.cells.length, 11);
    assert.deepEqual(saved.cells.filter((cell) => cell.server === 'koa').map((cell) => `${cell.load} ${cell.mode}`), ['saturation keepalive']);
    assert.equal(saved.byKeyType.length, 4);
    for (const cell of saved.cells) {
      assert.equal(cell.errors, 0);
      assert.equal(existsSync(`/proc/${cell.pid}`), false, `server ${cell.pid} was stopped`);
      // A kept-alive connection handshakes once; a full-handshake cell must never resume; a resume cell must.
      if (cell.mode === 'handshake') assert.equal(cell.resumed, 0, `${cell.load} ${cell.server}`);
      if (cell.mode === 'resume') assert.ok(cell.resumed > 0 && cell.resumed < cell.completed, `${cell.server}: ${cell.resumed} of ${cell.completed} resumed`);
    }
  });
});
