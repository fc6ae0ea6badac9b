// The README's test command on a fresh machine: a clone of HEAD with no
// node_modules, where `make test` must prepare Node and node_modules itself
// and then run the tests, with no step before it. TESTS=unit leaves out the
// container tests (to keep it short) and this file (so it cannot recurse).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, run, temporaryDirectory } from './helpers/processes.ts';

const SUITE = 'a fresh clone: make test prepares what it needs, then tests';
const MINUTES = 60_000;

/** Where `file` is on PATH, or undefined. */
function which(file: string, path: string): string | undefined {
  return path
    .split(delimiter)
    .map((dir) => join(dir, file))
    .find((candidate) => existsSync(candidate));
}

/**
 * PATH as a user's shell has it, not as the make recipe that runs this test
 * left it: without the folder of the node running us, where another node
 * remains (the machine's own, maybe older than package.json's engines).
 */
function userPath(): string {
  const path = process.env['PATH'] ?? '';
  const ours = dirname(process.execPath);
  // A system folder (/usr/bin) also holds make and bash: it stays.
  if (['make', 'bash'].some((tool) => existsSync(join(ours, tool)))) return path;
  const without = path
    .split(delimiter)
    .filter((dir) => dir !== ours)
    .join(delimiter);
  return which('node', without) === undefined ? path : without;
}

describe(SUITE, () => {
  it('runs the unit tests in a clone of HEAD with no node_modules, and leaves the clone clean', { timeout: 30 * MINUTES }, async () => {
    const clone = join(await temporaryDirectory('mtls-fresh-clone-'), 'mtls-demo');
    const cloned = await run('git', ['clone', '--quiet', ROOT, clone]);
    assert.equal(cloned.code, 0, cloned.stderr);
    assert.equal(existsSync(join(clone, 'node_modules')), false, 'a fresh clone has no node_modules');

    // A user's shell: not a child of node --test (which would make the inner
    // runner report to us in its binary protocol), nor of the outer make.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: userPath() };
    for (const name of ['NODE_TEST_CONTEXT', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'NODE_COMPILE_CACHE']) delete env[name];
    const make = await run('make', ['test', 'TESTS=unit'], { cwd: clone, env, timeoutMs: 25 * MINUTES });
    const output = make.stdout + make.stderr;
    assert.equal(make.code, 0, `make test TESTS=unit failed in the clone:\n${output.slice(-4000)}`);

    assert.match(make.stderr, /^node: using \S+\/node \(v\d+\.\d+\.\d+\)$/m);
    assert.match(make.stderr, /^prepare: npm ci \(node_modules missing\) \.\.\. done \(\d+ s\)$/m);
    // Node's test runner summary ends the output: tests passed, none failed.
    const summary = /(?:^|\n). tests (\d+)\n. suites \d+\n. pass (\d+)\n. fail (\d+)\n. cancelled (\d+)\n. skipped \d+\n. todo \d+\n. duration_ms [\d.]+\n*$/.exec(make.stdout);
    assert.ok(summary, `no test runner summary at the end of:\n${make.stdout.slice(-2000)}`);
    const [, tests, pass, fail, cancelled] = summary.map(Number);
    assert.ok(tests! > 0 && pass! > 0, `tests ${tests}, pass ${pass}`);
    assert.deepEqual({ fail, cancelled }, { fail: 0, cancelled: 0 });
    assert.ok(!output.includes(SUITE), 'the inner make test ran this file again');

    const status = await run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: clone });
    assert.equal(status.stdout, '', 'make test left files that git sees in the clone');
    const installed = await run(process.execPath, ['.ci/installed.cjs'], { cwd: clone });
    assert.equal(installed.code, 0, `node_modules in the clone does not match package-lock.json: ${installed.stdout}`);
  });
});
