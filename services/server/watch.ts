import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Log } from '../../core/log.ts';

export interface DirectoryWatch {
  close(): void;
}

// Writers replace several files in a row (and Kubernetes swaps a symlink): changes are debounced.
const DEBOUNCE_MS = 250;

/**
 * Calls `changed` shortly after anything in `dir` changes. A watch follows a
 * directory, not its path: when the path is made to point to another
 * directory (the old one moved away and a new one moved in, or a symlinked
 * TLS_DIR swapped with `mv -T`), the parent's watch notices, and the watch is
 * re-armed on what the path now names.
 */
export function watchDirectory(dir: string, changed: () => void, log: Log): DirectoryWatch {
  let timer: NodeJS.Timeout | undefined;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(changed, DEBOUNCE_MS);
  };
  let armed: { watcher: FSWatcher | undefined; identity: string | undefined } = { watcher: undefined, identity: undefined };
  const arm = () => {
    armed.watcher?.close();
    armed = { watcher: tryWatch(dir, () => (recheck(), soon()), log), identity: identityOf(dir) };
  };
  const recheck = () => {
    const now = identityOf(dir);
    if (now === undefined || now === armed.identity) return; // gone for a moment between two renames: wait for the next event
    arm();
    log.warn('tls_watch_rearmed', { dir, reason: 'TLS_DIR now names another directory' });
    soon();
  };
  arm();
  const name = basename(dir);
  const parent = tryWatch(dirname(dir), (_event, entry) => {
    if (entry === null || entry === name) recheck();
  }, log);
  return {
    close() {
      clearTimeout(timer);
      armed.watcher?.close();
      parent?.close();
    },
  };
}

/** Device and inode of what the path names now, following symlinks; undefined if nothing is there. */
function identityOf(dir: string): string | undefined {
  try {
    const { dev, ino } = statSync(dir);
    return `${dev}:${ino}`;
  } catch {
    return undefined;
  }
}

function tryWatch(path: string, listener: (event: string, entry: string | null) => void, log: Log): FSWatcher | undefined {
  try {
    const watcher = watch(path, listener);
    watcher.on('error', (error) => log.warn('tls_watch_failed', { dir: path, error: String(error) }));
    return watcher;
  } catch (error) {
    log.warn('tls_watch_failed', { dir: path, error: String(error), hint: 'send SIGHUP to reload' });
    return undefined;
  }
}
