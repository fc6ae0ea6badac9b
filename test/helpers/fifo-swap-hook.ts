// Preloaded into the server by the tests (node --import) to win a race
// every time: right after the server opens the path named by
// MTLS_TEST_FIFO_AFTER_OPEN for the second time (the first is start-up), that
// path is atomically replaced with a FIFO, so whatever the server checked or
// reads through the handle it just got is a regular file, and anything that
// opens the path again meets the FIFO. Prints {"event":"test_fifo_planted"}
// once it is in place.
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const fsPromises = require('node:fs/promises') as typeof import('node:fs/promises');
const open = fsPromises.open;
const target = process.env.MTLS_TEST_FIFO_AFTER_OPEN;
let opens = 0;

fsPromises.open = async (...args: Parameters<typeof open>) => {
  const handle = await open(...args);
  if (target !== undefined && String(args[0]) === target && ++opens === 2) {
    execFileSync('mkfifo', [`${target}.fifo`]);
    renameSync(`${target}.fifo`, target);
    process.stdout.write('{"event":"test_fifo_planted"}\n');
  }
  return handle;
};
// The code under test imports open as a named export: make that binding see the wrapper.
syncBuiltinESMExports();
