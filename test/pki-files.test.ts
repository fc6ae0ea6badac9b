// The PKI's files under attack: another local user planting material or
// symbolic links in --out, two runs at once, and a run killed half-way.
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openssl, runPkiCommand, temporaryDirectory, UNPRIVILEGED, type RunResult } from './helpers/processes.ts';

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

  it('tightens kept keys to 0600 and the CA folder to 0700, and says which key was looser', async () => {
    const { out } = await sharedOut();
    assert.equal((await runPkiCommand('--method', 'method1', '--out', out)).code, 0);
    await chmod(join(out, 'ca'), 0o755);
    await chmod(join(out, 'ca', 'ca.key'), 0o640);
    await chmod(join(out, 'server', 'tls.key'), 0o644);
    const result = await runPkiCommand('--method', 'method1', '--out', out);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ca +reused +\(existing CA kept; ca\.key had mode 0640, now 0600\)/);
    assert.match(result.stdout, /server +reused +\(valid and current; tls\.key had mode 0644, now 0600\)/);
    assert.match(result.stdout, /client +reused +\(valid and current\)/);
    assert.equal(await mode(join(out, 'ca')), 0o700);
    assert.equal(await mode(join(out, 'ca', 'ca.key')), 0o600);
    assert.equal(await mode(join(out, 'server', 'tls.key')), 0o600);
  });
});
