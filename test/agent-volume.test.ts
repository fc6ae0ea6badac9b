// The agent's writes into the workload's volume: the ..data layout, the one-rename
// swap, modes, and what is left behind. Real files, and our own TLS reader as the consumer.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { commit, currentGeneration, DATA_LINK, discard, generationName, removeLeftovers, stageKey } from '../services/agent/volume.ts';
import { readTlsMaterial } from '../core/tls-material.ts';
import { caOf, identity, issue } from './helpers/material.ts';
import { temporaryDirectory } from './helpers/processes.ts';

interface Generation {
  keyPem: string;
  certificatePem: string;
  caPem: string;
  serial: string;
}

async function generation(dir: string): Promise<Generation> {
  const read = (file: string) => readFile(join(dir, file), 'utf8');
  const certificatePem = await read('tls.crt');
  return { keyPem: await read('tls.key'), certificatePem, caPem: await read('ca.crt'), serial: new X509Certificate(certificatePem).serialNumber };
}

async function install(volume: string, next: Generation, now = new Date()): Promise<string> {
  const staging = await stageKey(volume, next.keyPem);
  return commit(volume, staging, next, now);
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('the workload volume: ..data swapped in one rename', () => {
  const generations: Generation[] = [];
  before(async () => {
    const issuer = await caOf(await issue('method1'));
    for (let i = 0; i < 3; i++) generations.push(await generation(await identity({ issuer, commonName: 'server', names: 'server', profile: 'server' })));
  });
  const [first, second] = [() => generations[0] as Generation, () => generations[1] as Generation];

  it('lays out tls.crt, tls.key and ca.crt as links through ..data, which our TLS reader loads', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    const name = await install(volume, first(), new Date('2026-11-27T00:00:00.123Z'));
    assert.equal(name, `..2026-11-27T00-00-00.123Z_${first().serial}`);
    assert.equal(await readlink(join(volume, DATA_LINK)), name);
    for (const file of ['tls.crt', 'tls.key', 'ca.crt']) assert.equal(await readlink(join(volume, file)), join(DATA_LINK, file));
    assert.deepEqual((await readdir(volume)).sort(), [name, DATA_LINK, 'ca.crt', 'tls.crt', 'tls.key'].sort());
    const material = await readTlsMaterial(volume);
    assert.equal(material.certificatePem, first().certificatePem);
    assert.equal(material.keyPem, first().keyPem);
  });

  it('writes the key 0600, the certificates 0644, whatever the umask', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    const previous = process.umask(0);
    try {
      const name = await install(volume, first());
      assert.equal(await mode(join(volume, name, 'tls.key')), 0o600);
      assert.equal(await mode(join(volume, name, 'tls.crt')), 0o644);
      assert.equal(await mode(join(volume, name, 'ca.crt')), 0o644);
    } finally {
      process.umask(previous);
    }
  });

  it('stages a new key 0600 in a directory of its own before any request, invisible to readers', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    await install(volume, first());
    const staging = await stageKey(volume, second().keyPem);
    assert.equal(await mode(join(staging.dir, 'tls.key')), 0o600);
    assert.equal(await mode(staging.dir), 0o700);
    assert.equal((await readTlsMaterial(volume)).keyPem, first().keyPem);
    await discard(staging);
    await assert.rejects(lstat(staging.dir), { code: 'ENOENT' });
  });

  it('swaps to the next generation and removes the previous one (the old key does not linger)', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    const old = await install(volume, first());
    const current = await install(volume, second());
    assert.equal(await currentGeneration(volume), current);
    await assert.rejects(lstat(join(volume, old)), { code: 'ENOENT' });
    const material = await readTlsMaterial(volume);
    assert.equal(material.certificate.serialNumber, second().serial);
    assert.ok(material.certificate.checkPrivateKey(material.key));
    assert.deepEqual((await readdir(volume)).filter((entry) => entry.startsWith('..')).sort(), [current, DATA_LINK].sort());
  });

  it('replaces plain files left by another writer with the links', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    await writeFile(join(volume, 'tls.crt'), first().certificatePem);
    await install(volume, second());
    assert.equal(await readlink(join(volume, 'tls.crt')), join(DATA_LINK, 'tls.crt'));
    assert.equal((await readTlsMaterial(volume)).certificate.serialNumber, second().serial);
  });

  it('never leaves readers without ..data, and every pair a reader resolves belongs together, across 30 swaps', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    await install(volume, first());
    let swapping = true;
    const seen = { reads: 0, missingLink: 0, mismatched: 0, vanished: 0 };
    const reader = (async () => {
      while (swapping) {
        let target: string;
        try {
          target = await readlink(join(volume, DATA_LINK));
        } catch {
          seen.missingLink++;
          continue;
        }
        try {
          // A consumer that wants a consistent pair resolves ..data once, then reads both files from there.
          const [cert, key] = await Promise.all(['tls.crt', 'tls.key'].map((file) => readFile(join(volume, target, file), 'utf8')));
          seen.reads++;
          const pair = generations.find((g) => g.certificatePem === cert);
          if (pair === undefined || pair.keyPem !== key) seen.mismatched++;
        } catch {
          seen.vanished++; // the generation was removed after we resolved it: read again
        }
      }
    })();
    for (let i = 0; i < 30; i++) await install(volume, generations[i % generations.length] as Generation);
    swapping = false;
    await reader;
    assert.ok(seen.reads > 0, 'the reader never ran');
    assert.equal(seen.missingLink, 0);
    assert.equal(seen.mismatched, 0);
  });

  it('removes what a crash left (staging directories, a half-made link, stale generations) and keeps the current one', async () => {
    const volume = await temporaryDirectory('agent-volume-');
    const current = await install(volume, first());
    await stageKey(volume, second().keyPem);
    await symlink(current, join(volume, '..data_tmp'));
    await mkdir(join(volume, '..2020-01-01T00-00-00.000Z_01'));
    await removeLeftovers(volume);
    assert.deepEqual((await readdir(volume)).filter((entry) => entry.startsWith('..')).sort(), [current, DATA_LINK].sort());
    assert.equal((await readTlsMaterial(volume)).certificate.serialNumber, first().serial);
  });

  it('refuses a serial that is not hexadecimal: a generation name can never point outside the volume', async () => {
    const volume = join(await temporaryDirectory('agent-volume-'), 'tls');
    await mkdir(volume);
    const staging = await stageKey(volume, first().keyPem);
    await assert.rejects(commit(volume, staging, { ...first(), serial: '/../../escaped' }), /serial "\/..\/..\/escaped" is not hexadecimal/);
    assert.deepEqual(await readdir(join(volume, '..')), ['tls']);
    assert.throws(() => generationName(new Date(), ''), /not hexadecimal/);
  });
});
