// The container health check: exit 0 when the server answers on its loopback
// health port over TLS, presenting exactly the certificate its mTLS listener
// serves (which the server reports: after a refused reload, that is the old
// certificate, still valid, while the files on disk may be broken).
//
// Why the probe trusts no file and verifies no chain: it asks "is this server
// up and serving a usable certificate?", not "who is this peer?". It sends no
// secret and acts on nothing but its exit code. The port is on 127.0.0.1 of
// the server's own network namespace (its container), so only a process in
// there could answer in the server's place (while the server is down and the
// port free), and in our containers the server is the only program besides
// this probe. A chain check against ca.crt would only add that such a process
// needs a key the CA signed, at the price of the flaw it had: a broken ca.crt on
// disk (refused by the server, which keeps serving) made a working server
// unhealthy. What is checked instead needs no disk: the presented certificate
// is the one the server reports serving (so the health listener and the mTLS
// listener agree), and it is valid now for a server.
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ConfigError, integerSetting } from '../../core/config-error.ts';
import { MtlsError } from '../../core/errors.ts';
import { certificateProblems } from '../../core/tls-material.ts';

// Always 1, even for a bad setting: Docker reserves a health check's exit code 2.
function fail(message: string): void {
  console.error(`healthcheck: ${message}`);
  process.exitCode = 1;
}

try {
  const port = integerSetting(process.env, 'HEALTH_PORT', 0, 0, 65535);
  if (port === 0) throw new ConfigError('HEALTH_PORT is not set: the server has no health listener to probe');
  const request = https.get(
    {
      host: '127.0.0.1',
      port,
      path: '/healthz',
      timeout: 2000,
      // Compared below with what the server reports serving (see the top of this file).
      rejectUnauthorized: false,
    },
    (response) => {
      const presented = (response.socket as TLSSocket).getPeerX509Certificate();
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
        if (serving === undefined || serving !== presented?.fingerprint256) {
          return fail(`the health listener presents ${presented?.fingerprint256 ?? 'no certificate'}, the server serves ${serving}`);
        }
        const [problem] = certificateProblems(presented, 'server');
        if (problem !== undefined) return fail(`the served certificate: ${problem}`);
        process.exitCode = 0;
      });
    },
  );
  request.on('timeout', () => request.destroy(new Error('timed out')));
  request.on('error', (error) => fail(error.message));
} catch (error) {
  fail(error instanceof MtlsError ? error.message : String(error));
}
