import { setTimeout as sleep } from 'node:timers/promises';
import { jsonLines } from '../../core/json-lines.ts';
import { createCsr, describeKeySpec, generateKey, privateKeyToPem } from '../../core/x509.ts';
import { runAgent } from './agent.ts';
import { enroll, renew } from './ca-client.ts';
import { fetchCrl, runCrlFetcher } from './crl-fetch.ts';
import { keySpecOf, readAgentConfig } from './config.ts';
import { exitCodeOf } from '../../core/errors.ts';

const emit = jsonLines();

// Exit codes: 0 stopped by a signal; 1 failed; 2 bad configuration.
try {
  const config = readAgentConfig(process.env);
  const spec = keySpecOf(config.keyType);
  const stop = new AbortController();
  // PID 1 in a container gets no default signal handling: stop cleanly ourselves.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      emit('stopping', { identity: config.identity, signal });
      stop.abort();
    });
  }
  const ca = { url: config.caUrl, timeoutMs: config.timeoutMs };
  emit('agent_started', { identity: config.identity, role: config.role, tlsDir: config.tlsDir, ca: config.caUrl.href, key: describeKeySpec(spec) });
  const renewing = runAgent(
    config,
    {
      emit,
      now: () => new Date(),
      random: Math.random,
      sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
      newKey: () => generateKey(spec),
      csr: (key, identity) => createCsr({ key, commonName: identity, names: [{ type: 'dns', value: identity }] }),
      keyPem: privateKeyToPem,
      enroll: (trustPem, token, csr) => enroll({ ...ca, trustPem }, token, csr),
      renew: (trustPem, current, csr) => renew({ ...ca, trustPem }, current, csr),
    },
    stop.signal,
  ).catch((error: unknown) => {
    stop.abort(); // the CRL loop stops with it, so that the process exits
    throw error;
  });
  // A server's agent also keeps its CRL current, side by side with the certificate.
  const fetching =
    config.crlRefreshMs === 0
      ? undefined
      : runCrlFetcher(
          { ...config, intervalMs: config.crlRefreshMs },
          {
            emit,
            now: () => new Date(),
            sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
            fetchCrl: (trustPem) => fetchCrl(ca, trustPem),
          },
          stop.signal,
        );
  await Promise.all([renewing, fetching]);
  emit('stopped', { identity: config.identity });
} catch (error) {
  process.exitCode = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  emit('failed', { message });
  console.error(`agent: ${message}`);
}
