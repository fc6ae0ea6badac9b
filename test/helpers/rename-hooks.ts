// Preloaded into a PKI or CA process by the tests (node --import) to make its
// renames observable: a random delay after each one (up to the given
// milliseconds), so that parallel runs overlap and interleave, and a SIGKILL right before or after the rename
// (or hard link) to a given path, so that a crash happens exactly there. Configured by the test through
// PKI_TEST_RENAME_DELAY_MS, PKI_TEST_KILL_BEFORE_RENAME_TO and
// PKI_TEST_KILL_AFTER_RENAME_TO (a suffix of the destination path).
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const fsPromises = require('node:fs/promises') as typeof import('node:fs/promises');
const rename = fsPromises.rename;
const delayMs = Number(process.env.PKI_TEST_RENAME_DELAY_MS ?? 0);
const killBefore = process.env.PKI_TEST_KILL_BEFORE_RENAME_TO;
const killAfter = process.env.PKI_TEST_KILL_AFTER_RENAME_TO;

const matches = (suffix: string | undefined, path: unknown) => suffix !== undefined && String(path).endsWith(suffix);

fsPromises.rename = async (from, to) => {
  if (matches(killBefore, to)) process.kill(process.pid, 'SIGKILL');
  await rename(from, to);
  if (matches(killAfter, to)) process.kill(process.pid, 'SIGKILL');
  if (delayMs > 0) await sleep(Math.random() * delayMs);
};
// A link puts a file in place as a rename does, but never over an existing one.
const link = fsPromises.link;
fsPromises.link = async (from, to) => {
  if (matches(killBefore, to)) process.kill(process.pid, 'SIGKILL');
  await link(from, to);
  if (matches(killAfter, to)) process.kill(process.pid, 'SIGKILL');
};
// The PKI imports rename as a named export: make that binding see the wrapper.
syncBuiltinESMExports();
