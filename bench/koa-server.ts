// koa and nothing else: bare node:https's options and body, answered by one
// koa middleware the way our server answers "/". Its cost over the bare
// baseline is koa's own (a context per request, its response handling); our
// server's cost over it is what we add (checks, connection tracking, the log).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import Koa from 'koa';

const dir = process.env['TLS_DIR'] ?? '';
const port = Number(process.env['PORT'] ?? 0);
const body = 'Hello client, from server (mTLS verified)\n';

const app = new Koa();
app.use((ctx) => {
  ctx.set('Content-Type', 'text/plain; charset=utf-8');
  ctx.body = body;
});
const server = https.createServer(
  {
    cert: readFileSync(join(dir, 'tls.crt')),
    key: readFileSync(join(dir, 'tls.key')),
    ca: readFileSync(join(dir, 'ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  },
  app.callback(),
);
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port: (server.address() as { port: number }).port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
