// The floor of our stack: bare node:https with the same mutual-TLS options as
// our server, answering a fixed body, no framework, no logging.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';

const dir = process.env['TLS_DIR'] ?? '';
const port = Number(process.env['PORT'] ?? 0);
const body = 'Hello client, from server (mTLS verified)\n';

const server = https.createServer(
  {
    cert: readFileSync(join(dir, 'tls.crt')),
    key: readFileSync(join(dir, 'tls.key')),
    ca: readFileSync(join(dir, 'ca.crt')),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  },
  (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  },
);
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port: (server.address() as { port: number }).port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
