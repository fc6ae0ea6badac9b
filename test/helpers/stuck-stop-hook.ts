// Preloaded into the server by the tests (node --import) to make its stop
// get stuck the worst way: its HTTPS servers never finish closing, and a
// thread of libuv's pool is blocked opening a FIFO that nobody writes to
// (MTLS_TEST_BLOCKING_FIFO), which a plain process.exit() would wait for
// forever. Only the forced stop can end such a process.
import https from 'node:https';
import { readFile } from 'node:fs';

const fifo = process.env.MTLS_TEST_BLOCKING_FIFO;
if (fifo !== undefined) readFile(fifo, () => undefined);

https.Server.prototype.close = function neverClosed(this: https.Server) {
  return this;
};
