import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CERTIFICATE_MODE, createNewFile, KEY_MODE, syncDirectory } from '../../core/new-file.ts';
import { CA_FILE, CERTIFICATE_FILE, KEY_FILE } from '../../core/tls-material.ts';

// The layout Kubernetes uses for secrets and config maps, which our server
// follows: every file is a link through `..data`, and `..data` is swapped in
// one rename, so a reader sees the old generation or the new one, whole.
//
//   ..data -> ..2026-11-27T00-00-00.123Z_<serial>/
//   tls.crt -> ..data/tls.crt   tls.key -> ..data/tls.key   ca.crt -> ..data/ca.crt
export const DATA_LINK = '..data';
const DATA_LINK_TEMPORARY = '..data_tmp';
const STAGING_PREFIX = '..staging-';
const GENERATION_MODE = 0o755;
const FILES = [CERTIFICATE_FILE, KEY_FILE, CA_FILE];

/** A generation being prepared: a directory of its own that no reader looks at yet. */
export interface Staging {
  dir: string;
}

/**
 * Writes a new private key into a fresh staging directory in the volume:
 * the key is born where it is used, 0600, before anything leaves the agent.
 */
export async function stageKey(volume: string, keyPem: string): Promise<Staging> {
  const dir = join(volume, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  await createNewFile(join(dir, KEY_FILE), keyPem, KEY_MODE);
  return { dir };
}

/**
 * Completes a staged generation with its certificate and trust, then makes
 * it current: renames it to its final name, points `..data` at it in one
 * rename, makes sure the top-level links exist, and removes every older
 * generation. Returns the generation's directory name.
 */
export async function commit(volume: string, staging: Staging, files: { certificatePem: string; caPem: string; serial: string }, now = new Date()): Promise<string> {
  await createNewFile(join(staging.dir, CERTIFICATE_FILE), files.certificatePem, CERTIFICATE_MODE);
  await createNewFile(join(staging.dir, CA_FILE), files.caPem, CERTIFICATE_MODE);
  const name = generationName(now, files.serial);
  await rename(staging.dir, join(volume, name));
  await chmodDir(join(volume, name));
  await replaceLink(volume, DATA_LINK, name);
  for (const file of FILES) {
    if ((await linkTarget(join(volume, file))) !== join(DATA_LINK, file)) await replaceLink(volume, file, join(DATA_LINK, file));
  }
  await syncDirectory(volume);
  await removeAllBut(volume, (entry) => entry === name);
  return name;
}

/** Removes a staging directory whose certificate never came (its key was never used). */
export async function discard(staging: Staging): Promise<void> {
  await rm(staging.dir, { recursive: true, force: true });
}

/** The current generation's directory name, or undefined when there is none. */
export async function currentGeneration(volume: string): Promise<string | undefined> {
  return linkTarget(join(volume, DATA_LINK));
}

/**
 * What a crash can leave behind (staging directories, a half-made link,
 * generations no longer current): removed at start-up.
 */
export async function removeLeftovers(volume: string, keep?: Staging): Promise<void> {
  const current = await currentGeneration(volume);
  await removeAllBut(volume, (entry) => entry === current || (keep !== undefined && join(volume, entry) === keep.dir));
}

/**
 * The newest staged key a stopped agent left, readable and whole: the key of
 * a request whose answer may have been lost with the process. Undefined when
 * there is none.
 */
export async function leftoverStagedKey(volume: string): Promise<{ staging: Staging; keyPem: string } | undefined> {
  const staged = (await readdir(volume, { withFileTypes: true })).filter((entry) => entry.isDirectory() && entry.name.startsWith(STAGING_PREFIX));
  const withTimes = await Promise.all(staged.map(async (entry) => ({ dir: join(volume, entry.name), mtimeMs: (await stat(join(volume, entry.name))).mtimeMs })));
  for (const { dir } of withTimes.sort((a, b) => b.mtimeMs - a.mtimeMs)) {
    try {
      return { staging: { dir }, keyPem: await readFile(join(dir, KEY_FILE), 'utf8') };
    } catch {
      // not there or not readable: a crash before the key was written; removed with the leftovers
    }
  }
  return undefined;
}

/** `..2026-11-27T00-00-00.123Z_<serial>`: sortable by time, and says which certificate it holds. */
export function generationName(now: Date, serial: string): string {
  if (!/^[0-9A-Fa-f]{1,64}$/.test(serial)) throw new Error(`serial "${serial}" is not hexadecimal`);
  return `..${now.toISOString().replaceAll(':', '-')}_${serial.toUpperCase()}`;
}

async function removeAllBut(volume: string, keep: (entry: string) => boolean): Promise<void> {
  for (const entry of await readdir(volume)) {
    if (!entry.startsWith('..') || entry === DATA_LINK || keep(entry)) continue;
    await rm(join(volume, entry), { recursive: true, force: true });
  }
}

/** Points `name` at `target` atomically: a new link under a temporary name, renamed over the old. */
async function replaceLink(volume: string, name: string, target: string): Promise<void> {
  const temporary = join(volume, name === DATA_LINK ? DATA_LINK_TEMPORARY : `..${name}_tmp`);
  await rm(temporary, { force: true });
  await symlink(target, temporary);
  await rename(temporary, join(volume, name));
}

async function linkTarget(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined; // absent, or a plain file
    throw error;
  }
}

async function chmodDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.chmod(GENERATION_MODE);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
