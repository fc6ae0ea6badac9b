// The container health check: exit 0 when the server answers on its loopback
// health port over TLS, presenting exactly the certificate its mTLS listener
// serves (which the server reports: after a refused reload, that is the old
// certificate, still valid, while tls.crt on disk is not).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ConfigError, integerSetting, requiredSetting } from '../shared/config-error.ts';
import { MtlsError } from '../shared/errors.ts';
import { CA_FILE } from '../shared/tls-material.ts';

// Always 1, even for a bad setting: Docker reserves a health check's exit code 2.
function fail(message: string): void {
  console.error(`healthcheck: ${message}`);
  process.exitCode = 1;
}

try {
  const tlsDir = requiredSetting(process.env, 'TLS_DIR', 'out/method1/server');
  const port = integerSetting(process.env, 'HEALTH_PORT', 0, 0, 65535);
  if (port === 0) throw new ConfigError('HEALTH_PORT is not set: the server has no health listener to probe');
  const request = https.get(
    {
      host: '127.0.0.1',
      port,
      path: '/healthz',
      ca: readFileSync(join(tlsDir, CA_FILE)),
      timeout: 2000,
      // Loopback: the identity that matters is "the certificate the server serves", compared below.
      checkServerIdentity: () => undefined,
    },
    (response) => {
      const presented = (response.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return fail(`HTTP ${response.statusCode}`);
        let serving: string | undefined;
        try {
          serving = (JSON.parse(body) as { serving?: string }).serving;
        } catch {
          return fail('the health listener did not answer JSON');
        }
        if (serving !== presented) return fail(`the health listener presents ${presented}, the server serves ${serving}`);
        process.exitCode = 0;
      });
    },
  );
  request.on('timeout', () => request.destroy(new Error('timed out')));
  request.on('error', (error) => fail(error.message));
} catch (error) {
  fail(error instanceof MtlsError ? error.message : String(error));
}
