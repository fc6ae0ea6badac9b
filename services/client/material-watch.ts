import { watch, type FSWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTlsMaterial, TlsMaterialError, type TlsMaterial } from '../../core/tls-material.ts';

export interface MaterialEvents {
  /** New, valid material that differs from the last one. */
  changed(next: TlsMaterial): void;
  /** What is in the directory now cannot be used; the current material stays. Once per distinct problem. */
  refused(file: string, problem: string): void;
}

/**
 * Follows a TLS directory: on every change notice (debounced) and every
 * pollEveryMs, reads it again and reports material that changed. A volume
 * written with the `..data` swap is read through `..data` resolved once, so
 * the certificate and key always come from the same generation.
 */
export function followMaterial(dir: string, initial: TlsMaterial, pollEveryMs: number, events: MaterialEvents): { close(): void } {
  let current = initial;
  let lastProblem = '';
  let reading: Promise<void> = Promise.resolve();
  let debounce: NodeJS.Timeout | undefined;

  const check = async (attempts = 3): Promise<void> => {
    const where = await generationDir(dir).catch(() => dir);
    try {
      const next = await loadTlsMaterial(where, 'client');
      lastProblem = '';
      if (next.certificatePem === current.certificatePem && next.keyPem === current.keyPem && next.caPem === current.caPem) return;
      current = next;
      events.changed(next);
    } catch (error) {
      // The writer swapped (and removed) the generation while we read it: read the new one.
      if (attempts > 1 && where !== dir && (await generationDir(dir).catch(() => where)) !== where) return check(attempts - 1);
      const { file, problem } = error instanceof TlsMaterialError ? error : { file: dir, problem: String(error) };
      if (`${file} ${problem}` !== lastProblem) events.refused(file, problem);
      lastProblem = `${file} ${problem}`;
    }
  };
  // One read at a time, in order: an older read never replaces a newer one.
  const schedule = () => void (reading = reading.then(() => check()));

  const poll = setInterval(schedule, pollEveryMs);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      clearTimeout(debounce);
      debounce = setTimeout(schedule, 100);
    });
    watcher.on('error', () => watcher?.close()); // the poll carries on alone
  } catch {
    // No change notices here (some network filesystems): the poll alone follows the directory.
  }
  return {
    close() {
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}

/** The directory's material as one generation, checked for use as a client identity now. */
export async function readCurrentMaterial(dir: string): Promise<TlsMaterial> {
  return loadTlsMaterial(await generationDir(dir), 'client');
}

/** Where the current generation is: `..data` resolved, or the directory itself when it holds plain files. */
async function generationDir(dir: string): Promise<string> {
  try {
    return await realpath(join(dir, '..data'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return dir;
    throw error;
  }
}
