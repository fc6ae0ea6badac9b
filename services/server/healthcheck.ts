// The container health check: exit 0 when the server answers on its loopback
// health port over TLS with exactly the certificate in TLS_DIR/tls.crt.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { ConfigError, integerSetting, requiredSetting } from '../shared/config-error.ts';
import { CA_FILE, CERTIFICATE_FILE } from '../shared/tls-material.ts';

try {
  const tlsDir = requiredSetting(process.env, 'TLS_DIR', 'out/method1/server');
  const port = integerSetting(process.env, 'HEALTH_PORT', 9444, 1, 65535);
  const expected = new X509Certificate(readFileSync(join(tlsDir, CERTIFICATE_FILE))).fingerprint256;
  const request = https.get(
    {
      host: '127.0.0.1',
      port,
      path: '/healthz',
      ca: readFileSync(join(tlsDir, CA_FILE)),
      timeout: 2000,
      // Loopback: the identity that matters is "our own certificate", whatever names it carries.
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === expected ? undefined : new Error(`serving ${cert.fingerprint256}, expected ${expected}`),
    },
    (response) => {
      response.resume();
      process.exitCode = response.statusCode === 200 ? 0 : 1;
      if (response.statusCode !== 200) console.error(`healthcheck: HTTP ${response.statusCode}`);
    },
  );
  request.on('timeout', () => request.destroy(new Error('timed out')));
  request.on('error', (error) => {
    console.error(`healthcheck: ${error.message}`);
    process.exitCode = 1;
  });
} catch (error) {
  console.error(`healthcheck: ${error instanceof ConfigError ? error.message : String(error)}`);
  process.exitCode = 1;
}
