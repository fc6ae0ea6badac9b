// The CA's key and certificate are one unit: a run killed between writing
// the two used to leave a pair the next run refused, and with --force the old
// key was gone by then. Both are written into ca/.staged, which is renamed to
// ca/.committed (the commit point), then moved into place. The next run
// removes a staged pair (never used, rolled back) and finishes installing a
// committed one (rolled forward).
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CA_FILE } from '../services/shared/tls-material.ts';
import { CA_FOLDER_MODE, CERTIFICATE_MODE, checkOwnIfPresent, isPresent, KEY_MODE, syncDirectory, writeNewFile } from './files.ts';

export const CA_KEY_FILE = 'ca.key';
const STAGED = '.staged';
const COMMITTED = '.committed';

export async function writeCaPair(caDir: string, keyPem: string, certificatePem: string): Promise<void> {
  const staged = join(caDir, STAGED);
  await rm(staged, { recursive: true, force: true });
  await mkdir(staged, { mode: CA_FOLDER_MODE });
  await writeNewFile(join(staged, CA_KEY_FILE), keyPem, KEY_MODE);
  await writeNewFile(join(staged, CA_FILE), certificatePem, CERTIFICATE_MODE);
  await syncDirectory(staged);
  await rename(staged, join(caDir, COMMITTED));
  await syncDirectory(caDir);
  await install(caDir);
}

/** Rolls back a staged pair and rolls forward a committed one; says what it did, for the report. */
export async function recoverCaPair(caDir: string): Promise<string[]> {
  const notes: string[] = [];
  for (const dir of [STAGED, COMMITTED]) await checkOwnIfPresent(join(caDir, dir), 'directory');
  if (await isPresent(join(caDir, STAGED))) {
    await rm(join(caDir, STAGED), { recursive: true, force: true });
    notes.push('removed a new CA an interrupted run had not finished writing');
  }
  if (await isPresent(join(caDir, COMMITTED))) {
    for (const name of [CA_KEY_FILE, CA_FILE]) await checkOwnIfPresent(join(caDir, COMMITTED, name), 'file');
    await install(caDir);
    notes.push('finished installing the CA an interrupted run had written');
  }
  return notes;
}

/** Moves the committed pair into place, the key first; a file already moved is skipped. */
async function install(caDir: string): Promise<void> {
  const committed = join(caDir, COMMITTED);
  for (const name of [CA_KEY_FILE, CA_FILE]) {
    try {
      await rename(join(committed, name), join(caDir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  await rmdir(committed);
  await syncDirectory(caDir);
}
