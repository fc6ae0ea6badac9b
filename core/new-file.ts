import { open } from 'node:fs/promises';

export const KEY_MODE = 0o600;
export const CERTIFICATE_MODE = 0o644;

/**
 * Creates a file that must not exist yet (an existing one, or a planted link,
 * fails with EEXIST), with its mode and its bytes on disk before this returns.
 */
export async function createNewFile(path: string, data: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed the mode open() asked for
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames and new names in a directory durable, as a file's sync does for its data. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
