// What the bench's reference servers share: bare node:https with our server's
// mutual-TLS options (TLS_DIR, PORT), the same body, a "listening" line with
// the port, and a clean stop on SIGTERM.
import { readFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';

export const BODY = 'Hello client, from server (mTLS verified)\n';

export function serveMutualTls(handler: RequestListener): void {
  const dir = process.env['TLS_DIR'] ?? '';
  const server = https.createServer(
    {
      cert: readFileSync(join(dir, 'tls.crt')),
      key: readFileSync(join(dir, 'tls.key')),
      ca: readFileSync(join(dir, 'ca.crt')),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    handler,
  );
  server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => console.log(JSON.stringify({ event: 'listening', port: (server.address() as { port: number }).port })));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
