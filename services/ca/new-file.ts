import { randomBytes } from 'node:crypto';
import { chmod, link, open, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file that must not exist yet, whole or not at all: the data goes to a
 * temporary file, which is then hard-linked into place. Unlike a rename, a link
 * fails when the name exists, so two racing writers cannot replace each other's
 * file (a CA key is never overwritten). Returns false when the file already existed.
 */
export async function writeNewFile(path: string, data: string, mode: number): Promise<boolean> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, mode);
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}
