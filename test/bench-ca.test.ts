// bench:ca runs, renews without failures, prints its figures, and its profile can be read. No timing is asserted.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';

describe('npm run bench:ca (smoke, tiny bounds)', () => {
  it('renews with no failure, prints CPU per renewal and capacity, and writes a profile bench/cpu-profile.ts reads', async () => {
    const profiles = await temporaryDirectory('mtls-bench-ca-');
    const result = await run(process.execPath, [join(ROOT, 'bench/ca.ts'), '--seconds', '1', '--warmup', '0', '--concurrency', '1', '--cpu-prof', profiles]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^renewals \(ECDSA P-256, new mTLS connection each\): [1-9]\d* in [\d.]+ s \(3 windows\), 0 failed$/m);
    // The median of the three windows' figures, which are listed after it.
    const perWindow = /^CA CPU per renewal \(\/proc\): ([\d.]+) ms median of ([\d.]+), ([\d.]+), ([\d.]+) {2}-> {2}\d+ renewals per CPU-second/m.exec(result.stdout);
    assert.ok(perWindow !== null, result.stdout);
    const [median, ...windows] = perWindow.slice(1).map(Number);
    assert.equal(median, [...windows].sort((a, b) => a - b)[1]);
    assert.match(result.stdout, /^capacity: 1-hour certificates renewed at 2\/3 \(every 40 min\) -> one CA core serves \d+ workloads$/m);
    const lines = result.stdout.trim().split('\n');
    const figures = JSON.parse(lines.at(-2) as string) as { renewals: number; failed: number; csrsMadeDuringRun: number };
    assert.equal(figures.failed, 0);
    assert.equal(figures.csrsMadeDuringRun, 0);
    const { windowsUs } = JSON.parse(lines.at(-1) as string) as { windowsUs: { renew: [number, number] } };
    const [profile] = readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile'));
    assert.ok(profile !== undefined, 'the CA wrote its profile on a clean stop');
    const summary = await run(process.execPath, [join(ROOT, 'bench/cpu-profile.ts'), join(profiles, profile), '--from', String(windowsUs.renew[0]), '--to', String(windowsUs.renew[1]), '--per', String(figures.renewals), '--top', '5']);
    assert.equal(summary.code, 0, summary.stderr);
    assert.match(summary.stdout, /^busy \(non-idle\) samples: [\d.]+ ms, [\d.]+ ms per operation\n( +[\d.]+ ms\/op +[\d.]+% {2}.+\n){5}$/);
  });
});
