// The CA's key and certificate are one unit: a run killed between writing the
// two used to leave a pair the next run refused (a key without its
// certificate), and with the PKI's --force the old key was gone by then. Both
// are written into CA_DIR/.staged, which is renamed to CA_DIR/.committed (the
// commit point), then moved into place. The next run removes a staged pair
// (never used: rolled back) and finishes installing a committed one (rolled
// forward). The PKI (under its run lock) and the CA service both write their
// CA this way.
import { link, lstat, mkdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CERTIFICATE_MODE, createNewFile, KEY_MODE, syncDirectory } from './new-file.ts';
import { CA_FILE } from './tls-material.ts';

export const CA_KEY_FILE = 'ca.key';
const STAGED = '.staged';
const COMMITTED = '.committed';

/**
 * How a committed pair goes into place: `replace` renames it over the CA there
 * (the PKI's --force, one run at a time under its lock); `keep` never puts a key
 * over an existing one (the CA service, whose `init` runs without a lock): the
 * key is hard-linked into place, which fails where a rename would replace.
 */
export type Placement = 'replace' | 'keep';

/**
 * Writes the pair as one unit. With `keep`, a CA key already in place wins:
 * nothing of this pair is installed and the answer is false. With `keep`, a
 * staging directory of another run at work fails this one with EEXIST.
 */
export async function writeCaPair(caDir: string, keyPem: string, certificatePem: string, placement: Placement): Promise<boolean> {
  const staged = join(caDir, STAGED);
  if (placement === 'replace') await rm(staged, { recursive: true, force: true });
  await mkdir(staged, { mode: 0o700 });
  await createNewFile(join(staged, CA_KEY_FILE), keyPem, KEY_MODE);
  await createNewFile(join(staged, CA_FILE), certificatePem, CERTIFICATE_MODE);
  await syncDirectory(staged);
  await rename(staged, join(caDir, COMMITTED));
  await syncDirectory(caDir);
  return install(caDir, placement);
}

/** Rolls back a staged pair and rolls forward a committed one; says what it did, for the report or log. */
export async function recoverCaPair(caDir: string, placement: Placement): Promise<string[]> {
  const notes: string[] = [];
  if (await isPresent(join(caDir, STAGED))) {
    await rm(join(caDir, STAGED), { recursive: true, force: true });
    notes.push('removed a new CA an interrupted run had not finished writing');
  }
  if (await isPresent(join(caDir, COMMITTED))) {
    const installed = await install(caDir, placement);
    notes.push(installed ? 'finished installing the CA an interrupted run had written' : 'removed the CA an interrupted run had written: another CA key is in place');
  }
  return notes;
}

/** Whether a killed run left a committed pair that the next recovery installs. */
export function hasCommittedPair(caDir: string): Promise<boolean> {
  return isPresent(join(caDir, COMMITTED));
}

/** What recovery reads and moves, for callers that first check who owns them. */
export function caPairWorkPaths(caDir: string): { path: string; kind: 'directory' | 'file' }[] {
  return [
    { path: join(caDir, STAGED), kind: 'directory' },
    { path: join(caDir, COMMITTED), kind: 'directory' },
    { path: join(caDir, COMMITTED, CA_KEY_FILE), kind: 'file' },
    { path: join(caDir, COMMITTED, CA_FILE), kind: 'file' },
  ];
}

/** Moves the committed pair into place, the key first; a file already moved is skipped. */
async function install(caDir: string, placement: Placement): Promise<boolean> {
  const committed = join(caDir, COMMITTED);
  const keyPlaced = placement === 'replace' ? await move(committed, caDir, CA_KEY_FILE) : await linkKey(committed, caDir);
  if (!keyPlaced) {
    await rm(committed, { recursive: true, force: true });
    await syncDirectory(caDir);
    return false;
  }
  await move(committed, caDir, CA_FILE);
  await removeEmpty(committed);
  await syncDirectory(caDir);
  return true;
}

async function move(from: string, to: string, name: string): Promise<true> {
  try {
    await rename(join(from, name), join(to, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return true;
}

/** The key, linked into place unless a key is there; the one a killed run linked already is this pair's own. */
async function linkKey(committed: string, caDir: string): Promise<boolean> {
  const [from, to] = [join(committed, CA_KEY_FILE), join(caDir, CA_KEY_FILE)];
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true; // linked and unlinked by a run killed later on
    if (code !== 'EEXIST') throw error;
    if (!(await sameFile(from, to))) return false;
  }
  await unlink(from);
  return true;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([stat(a), stat(b)]);
  return first.ino === second.ino && first.dev === second.dev;
}

/** Another `keep` run may have finished the same install, or committed its own pair here since. */
async function removeEmpty(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

async function isPresent(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
