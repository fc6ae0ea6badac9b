// The PKI's files under attack: another local user planting material or
// symbolic links in --out, two runs at once, and a run killed half-way.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openssl, ROOT, run, runPkiCommand, runPkiCommandUnprivileged, temporaryDirectory, UNPRIVILEGED, type RunResult } from './helpers/processes.ts';

// The other local user. The tests run as root here; as anyone else they cannot
// hand files to another uid, so the planted-material tests need root.
const ATTACKER = UNPRIVILEGED;
const asRoot = process.getuid?.() === 0;
const needsRoot = asRoot ? {} : { skip: 'needs root to create files owned by another user' };

const mode = async (path: string) => (await lstat(path)).mode & 0o7777;

/** A fresh --out inside a world-writable, sticky directory, like /tmp. */
async function sharedOut(): Promise<{ shared: string; out: string }> {
  const shared = await temporaryDirectory();
  await chmod(shared, 0o1777);
  return { shared, out: join(shared, 'out') };
}

/** A CA of the attacker's own, made with openssl, with our CA's name. */
async function attackerCa(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const made = await openssl(
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=selfCA',
    '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  );
  assert.equal(made.code, 0, made.stderr);
}

async function giveTo(uid: number, ...paths: string[]): Promise<void> {
  for (const path of paths) await chown(path, uid, uid);
}

function assertRefused(result: RunResult, message: RegExp): void {
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, message);
  assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
}

describe('pki refuses folders and files another local user could control', () => {
  it('refuses a CA folder planted by another user, and signs nothing with its key', needsRoot, async () => {
    const { out } = await sharedOut();
    await mkdir(out);
    await attackerCa(join(out, 'ca'));
    await giveTo(ATTACKER, join(out, 'ca'), join(out, 'ca', 'ca.key'), join(out, 'ca', 'ca.crt'));
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out\/ca is owned by uid 65534, not by this user \(uid 0\); refusing to use it/);
    assert.deepEqual(await readdir(out), ['ca'], 'no leaf was issued');
  });

  it('refuses CA files planted by another user in our own CA folder', needsRoot, async () => {
    const { out } = await sharedOut();
    await attackerCa(join(out, 'ca'));
    await chmod(join(out, 'ca'), 0o700);
    await giveTo(ATTACKER, join(out, 'ca', 'ca.key'), join(out, 'ca', 'ca.crt'));
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out\/ca\/ca\.(crt|key) is owned by uid 65534, not by this user \(uid 0\); refusing to use it/);
    assert.deepEqual(await readdir(out), ['ca']);
  });

  it('refuses a CA folder that others may write to', async () => {
    const { out } = await sharedOut();
    await mkdir(join(out, 'ca'), { recursive: true });
    await chmod(join(out, 'ca'), 0o777);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out\/ca is writable by group and others \(mode 0777\); refusing to use it/);
    assert.deepEqual(await readdir(join(out, 'ca')), []);
    assert.equal(await mode(join(out, 'ca')), 0o777, 'left as found');
  });

  it('refuses an identity folder that is a symbolic link, and writes nothing where it points', async () => {
    const { shared, out } = await sharedOut();
    const elsewhere = join(shared, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o700 });
    await mkdir(out);
    await symlink(elsewhere, join(out, 'server'));
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out\/server is a symbolic link; refusing to use it/);
    assert.deepEqual(await readdir(elsewhere), [], 'no key written through the link');
    assert.equal(await mode(elsewhere), 0o700, 'the target was not chmodded');
  });

  it('refuses a kept key that is a symbolic link to a file another user owns', needsRoot, async () => {
    const { shared, out } = await sharedOut();
    assert.equal((await runPkiCommand('--method', 'method1', '--out', out)).code, 0);
    // The attacker's copy of the key: they can read whatever the PKI keeps in it.
    const copy = join(shared, 'copy.key');
    await writeFile(copy, await readFile(join(out, 'server', 'tls.key')), { mode: 0o644 });
    await giveTo(ATTACKER, copy);
    const key = join(out, 'server', 'tls.key');
    await rm(key);
    await symlink(copy, key);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out\/server\/tls\.key is a symbolic link; refusing to use it/);
    assert.equal((await lstat(key)).isSymbolicLink(), true, 'left as found');
    assert.equal(await mode(copy), 0o644, 'its target was not chmodded');
  });

  it('refuses a key owned by another user in an identity folder', needsRoot, async () => {
    const { out } = await sharedOut();
    assert.equal((await runPkiCommand('--method', 'method2', '--out', out)).code, 0);
    await giveTo(ATTACKER, join(out, 'client', 'tls.key'));
    const result = await runPkiCommand('--method', 'method2', '--out', out);
    assertRefused(result, /^pki: .*\/out\/client\/tls\.key is owned by uid 65534, not by this user \(uid 0\); refusing to use it/);
  });

  it('refuses an --out owned by another user, who could swap the folders in it', needsRoot, async () => {
    const { out } = await sharedOut();
    await mkdir(out);
    await giveTo(ATTACKER, out);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out is owned by uid 65534, not by this user \(uid 0\) or root; refusing to write into it/);
    assert.deepEqual(await readdir(out), []);
  });

  it('refuses an --out that others may write to without the sticky bit, and accepts one like /tmp', async () => {
    const { out } = await sharedOut();
    await mkdir(out);
    await chmod(out, 0o777);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out is writable by group and others without the sticky bit \(mode 0777\); refusing to write into it/);
    assert.deepEqual(await readdir(out), []);
    await chmod(out, 0o1777);
    assert.equal((await runPkiCommand('--method', 'method1', '--out', out)).code, 0);
  });

  it('creates an --out it accepts itself, also under a umask that lets the group write', async () => {
    const out = join(await temporaryDirectory(), 'new', 'out');
    const main = join(ROOT, 'pki/main.ts');
    const result = await run('sh', ['-c', 'umask 002 && exec "$0" "$@"', process.execPath, main, '--method', 'method1', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await mode(out), 0o755);
  });

  it('tightens kept keys to 0600 and the CA folder to 0700, and says which key was looser', async () => {
    const { out } = await sharedOut();
    assert.equal((await runPkiCommand('--method', 'method1', '--out', out)).code, 0);
    await chmod(join(out, 'ca'), 0o755);
    await chmod(join(out, 'ca', 'ca.key'), 0o640);
    await chmod(join(out, 'server', 'tls.key'), 0o644);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ca +kept +\(existing CA kept; ca\.key had mode 0640, now 0600\)/);
    assert.match(result.stdout, /server +kept +\(valid and current; tls\.key had mode 0644, now 0600\)/);
    assert.match(result.stdout, /client +kept +\(valid and current\)/);
    assert.equal(await mode(join(out, 'ca')), 0o700);
    assert.equal(await mode(join(out, 'ca', 'ca.key')), 0o600);
    assert.equal(await mode(join(out, 'server', 'tls.key')), 0o600);
  });
});

/** The PKI with extra environment (its lock wait, the test's rename hooks), as `npm run pki` would run it. */
function runPkiWith(env: Record<string, string>, ...args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'pki/main.ts'), ...args], { env: { ...process.env, ...env } });
}

const RENAME_HOOKS = join(ROOT, 'test/helpers/rename-hooks.ts');

/** The PKI with the rename hooks preloaded; resolves with the signal that ended it, if one did. */
function runPkiHooked(env: Record<string, string>, ...args: string[]): Promise<RunResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RENAME_HOOKS, join(ROOT, 'pki/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Whether the CA pair belongs together and every leaf verifies against the final CA (openssl as the oracle). */
async function assertConsistent(out: string): Promise<void> {
  const caFile = join(out, 'ca', 'ca.crt');
  const fromKey = await openssl('pkey', '-in', join(out, 'ca', 'ca.key'), '-pubout');
  const fromCertificate = await openssl('x509', '-in', caFile, '-pubkey', '-noout');
  assert.equal(fromKey.code, 0, fromKey.stderr);
  assert.equal(fromKey.stdout, fromCertificate.stdout, 'ca.key matches ca.crt');
  const ca = await readFile(caFile, 'utf8');
  for (const identity of ['server', 'client']) {
    const verified = await openssl('verify', '-CAfile', caFile, join(out, identity, 'tls.crt'));
    assert.equal(verified.code, 0, `${identity}: ${verified.stdout}${verified.stderr}`);
    assert.equal(await readFile(join(out, identity, 'ca.crt'), 'utf8'), ca, `${identity} trusts the final CA`);
    const pair = await openssl('x509', '-in', join(out, identity, 'tls.crt'), '-pubkey', '-noout');
    const key = await openssl('pkey', '-in', join(out, identity, 'tls.key'), '-pubout');
    assert.equal(key.stdout, pair.stdout, `${identity}: tls.key matches tls.crt`);
  }
}

describe('pki runs into one --out one at a time', () => {
  it('serializes parallel runs: all exit 0 and leave one consistent CA and leaves it signed', async () => {
    // Without the lock, one round of these left a mismatched pair about half of the time.
    for (let round = 1; round <= 2; round += 1) {
      const out = join(await temporaryDirectory(), 'out');
      // Half of them replace the CA, so that every run changes it. Each rename
      // takes a random while longer, so that the runs overlap and interleave.
      const runs = Array.from({ length: 8 }, (_, index) =>
        runPkiHooked({ PKI_TEST_RENAME_DELAY_MS: '100' }, '--method', 'method1', '--out', out, ...(index % 2 === 0 ? ['--force'] : [])),
      );
      for (const result of await Promise.all(runs)) assert.equal(result.code, 0, result.stderr);
      await assertConsistent(out);
      assert.deepEqual((await readdir(out)).sort(), ['ca', 'client', 'server'], 'no lock left behind');
    }
  });

  it('locks server/ when --out is read-only, as with one volume per identity', async () => {
    const out = await temporaryDirectory();
    await chmod(out, 0o755);
    for (const folder of ['ca', 'server', 'client']) {
      await mkdir(join(out, folder));
      if (asRoot) await chown(join(out, folder), UNPRIVILEGED, UNPRIVILEGED);
    }
    if (!asRoot) await chmod(out, 0o555);
    const lock = join(out, 'server', '.pki.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    if (asRoot) await chown(lock, UNPRIVILEGED, UNPRIVILEGED);
    // The unprivileged run inherits this process's environment.
    process.env.PKI_LOCK_WAIT_SECONDS = '1';
    try {
      const result = await runPkiCommandUnprivileged('--method', 'method1', '--out', out);
      assertRefused(result, new RegExp(`^pki: another run holds ${lock} \\(pid ${process.pid} on `));
    } finally {
      delete process.env.PKI_LOCK_WAIT_SECONDS;
    }
    assert.deepEqual(await readdir(join(out, 'server')), ['.pki.lock']);
  });

  it('waits for a run that holds the lock, then gives up with one line and exit 1, writing nothing', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await mkdir(out);
    const lock = join(out, '.pki.lock');
    const holder = { pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' };
    await writeFile(lock, JSON.stringify(holder));
    const result = await runPkiWith({ PKI_LOCK_WAIT_SECONDS: '1' }, '--method', 'method1', '--out', out);
    assertRefused(
      result,
      new RegExp(`^pki: another run holds ${lock} \\(pid ${process.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z\\); gave up after 1 s \\(if no run is active, remove that file\\)$`, 'm'),
    );
    assert.deepEqual(await readdir(out), ['.pki.lock']);
    assert.deepEqual(JSON.parse(await readFile(lock, 'utf8')), holder, 'the holder keeps its lock');
  });

  it('takes over the lock of a run that is gone', async () => {
    const out = join(await temporaryDirectory(), 'out');
    await mkdir(out);
    const gone = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.on('exit', () => resolve(child.pid as number));
    });
    await writeFile(join(out, '.pki.lock'), JSON.stringify({ pid: gone, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['ca', 'client', 'server']);
  });

  it('refuses a lock file planted by another user', needsRoot, async () => {
    const { out } = await sharedOut();
    await mkdir(out);
    await writeFile(join(out, '.pki.lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    await giveTo(ATTACKER, join(out, '.pki.lock'));
    const result = await runPkiWith({ PKI_LOCK_WAIT_SECONDS: '1' }, '--method', 'method1', '--out', out);
    assertRefused(result, /^pki: .*\/out\/\.pki\.lock is owned by uid 65534, not by this user \(uid 0\); refusing to use it/);
    assert.deepEqual(await readdir(out), ['.pki.lock']);
  });

  it('refuses a lock wait that is not a whole number of seconds', async () => {
    const dir = await temporaryDirectory();
    const result = await runPkiWith({ PKI_LOCK_WAIT_SECONDS: 'soon' }, '--method', 'method1', '--out', join(dir, 'out'));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^pki: PKI_LOCK_WAIT_SECONDS must be a whole number of seconds from 0 to 3600, not "soon"/);
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('pki recovers from a run killed half-way (SIGKILL right before or after a rename)', () => {
  const points = [
    { when: 'before', to: '/ca/.committed', committed: false },
    { when: 'after', to: '/ca/.committed', committed: true },
    { when: 'after', to: '/ca/ca.key', committed: true },
    { when: 'after', to: '/ca/ca.crt', committed: true },
  ] as const;
  for (const force of [false, true]) {
    for (const { when, to, committed } of points) {
      const title = `${force ? '--force, ' : ''}killed ${when} the rename to ${to}: the next run ${committed ? 'completes' : 'rolls back'} the CA pair`;
      it(title, async () => {
        const out = join(await temporaryDirectory(), 'out');
        const caFile = join(out, 'ca', 'ca.crt');
        if (force) assert.equal((await runPkiCommand('--method', 'method1', '--out', out)).code, 0);
        const oldCa = force ? await readFile(caFile, 'utf8') : undefined;
        const hook = when === 'before' ? 'PKI_TEST_KILL_BEFORE_RENAME_TO' : 'PKI_TEST_KILL_AFTER_RENAME_TO';
        const killed = await runPkiHooked({ [hook]: to }, '--method', 'method1', '--out', out, ...(force ? ['--force'] : []));
        assert.equal(killed.signal, 'SIGKILL', `killed ${when} ${to}: ${killed.stderr}`);

        const next = await runPkiCommand('--method', 'method1', '--out', out);
        assert.equal(next.code, 0, next.stderr);
        const note = committed
          ? /ca +kept +\(existing CA kept; finished installing the CA an interrupted run had written\)/
          : /ca +(issued|kept) +\(.*; removed a new CA an interrupted run had not finished writing\)/;
        assert.match(next.stdout, note);
        await assertConsistent(out);
        if (oldCa !== undefined) {
          const finalCa = await readFile(caFile, 'utf8');
          if (committed) assert.notEqual(finalCa, oldCa, 'the new CA, as the killed run had committed');
          else assert.equal(finalCa, oldCa, 'the old CA, untouched');
        }
        assert.deepEqual((await readdir(join(out, 'ca'))).sort(), ['ca.crt', 'ca.key'], 'nothing left over in ca/');
        assert.deepEqual((await readdir(out)).sort(), ['ca', 'client', 'server'], 'the dead run\'s lock is gone');
      });
    }
  }

  it('removes the temporary file (a whole private key) a run killed before its rename left', async () => {
    const out = join(await temporaryDirectory(), 'out');
    const killed = await runPkiHooked({ PKI_TEST_KILL_BEFORE_RENAME_TO: '/server/tls.key' }, '--method', 'method1', '--out', out);
    assert.equal(killed.signal, 'SIGKILL');
    const left = (await readdir(join(out, 'server'))).filter((name) => name.endsWith('.tmp'));
    assert.equal(left.length, 1, 'the key was left behind');
    assert.match(await readFile(join(out, 'server', left[0] as string), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);

    const next = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /server +issued +\(tls\.crt missing; removed 1 temporary file an interrupted run left\)/);
    assert.deepEqual((await readdir(join(out, 'server'))).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    await assertConsistent(out);
  });
});
