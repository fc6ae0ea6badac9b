// Before a run issues anything (and under its lock): every folder it will
// write is checked (no symbolic link, nothing another user owns or may
// write), what a killed run left behind is cleaned up or completed, and kept
// keys are made private again.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CA_FILE, CERTIFICATE_FILE, KEY_FILE } from '../core/tls-material.ts';
import { CA_KEY_FILE, caPairWorkPaths, recoverCaPair } from '../core/ca-pair.ts';
import { checkOwnIfPresent, ensureDirectory, isPresent, removeStaleTemporaryFiles } from '../core/files.ts';
import { CA_FOLDER_MODE, IDENTITY_FOLDER_MODE, tightenKeyMode } from './files.ts';
import { foldersOf, UsageError, type PkiOptions } from './options.ts';

export const CA_FOLDER = 'ca';

/** What the run did to a folder besides issuing, for the report; by folder (that is, identity) name. */
export type FolderNotes = Map<string, string[]>;

export async function prepareFolders(options: PkiOptions): Promise<FolderNotes> {
  const folders = foldersOf(options.method, options.withDemoIdentities);
  // All of them are checked before any is created or changed.
  for (const folder of folders) await inspect(join(options.out, folder), folder);
  const notes: FolderNotes = new Map();
  for (const folder of folders) notes.set(folder, await tidy(join(options.out, folder), folder));
  return notes;
}

/**
 * --out must lead to folders we can write, checked before anything is
 * written: each identity folder that exists must be writable, and where one
 * does not exist yet, the nearest existing directory above it. (--out itself
 * need not be writable: in a container each identity folder is its own volume.)
 * Bad input like a bad flag: UsageError.
 */
export async function checkOutWritable(out: string, folders: readonly string[]): Promise<void> {
  for (const folder of folders) {
    let existing = join(out, folder);
    while (!(await isPresent(existing))) existing = dirname(existing);
    if (!(await stat(existing)).isDirectory()) {
      throw new UsageError(existing === out ? `--out ${out} is a file, not a directory` : `--out ${out}: ${existing} is a file`);
    }
    try {
      await access(existing, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new UsageError(`--out ${out}: ${existing} is not writable (${(error as NodeJS.ErrnoException).code})`, { cause: error });
    }
  }
}

async function inspect(dir: string, folder: string): Promise<void> {
  await checkOwnIfPresent(dir, 'directory');
  for (const name of filesOf(folder)) await checkOwnIfPresent(join(dir, name), 'file');
}

async function tidy(dir: string, folder: string): Promise<string[]> {
  await ensureDirectory(dir, folder === CA_FOLDER ? CA_FOLDER_MODE : IDENTITY_FOLDER_MODE);
  const notes = folder === CA_FOLDER ? await recoverCa(dir) : [];
  const removed = await removeStaleTemporaryFiles(dir);
  if (removed > 0) notes.push(`removed ${removed} temporary file${removed === 1 ? '' : 's'} an interrupted run left`);
  const loosened = await tightenKeyMode(join(dir, folder === CA_FOLDER ? CA_KEY_FILE : KEY_FILE));
  if (loosened !== undefined) notes.push(loosened);
  return notes;
}

/** What a killed run left of a new CA pair, once it is shown to be ours. */
async function recoverCa(dir: string): Promise<string[]> {
  for (const { path, kind } of caPairWorkPaths(dir)) await checkOwnIfPresent(path, kind);
  return recoverCaPair(dir, 'replace');
}

/** What a folder holds: the CA's pair, or an identity's certificate, key and trust. */
function filesOf(folder: string): string[] {
  return folder === CA_FOLDER ? [CA_FILE, CA_KEY_FILE] : [CERTIFICATE_FILE, KEY_FILE, CA_FILE];
}
