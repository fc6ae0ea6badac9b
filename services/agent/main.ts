import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../shared/config-error.ts';
import { jsonLines } from '../shared/json-lines.ts';
import { createCsr, describeKeySpec, generateKey } from '../shared/x509.ts';
import { runAgent } from './agent.ts';
import { enroll, renew } from './ca-client.ts';
import { keySpecOf, readAgentConfig } from './config.ts';

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
  await runAgent(
    config,
    {
      emit,
      now: () => new Date(),
      random: Math.random,
      sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
      newKey: () => generateKey(spec),
      csr: (key, identity) => createCsr({ key, commonName: identity, names: [{ type: 'dns', value: identity }] }),
      keyPem: (key) => key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      enroll: (trustPem, token, csr) => enroll({ ...ca, trustPem }, token, csr),
      renew: (trustPem, current, csr) => renew({ ...ca, trustPem }, current, csr),
    },
    stop.signal,
  );
  emit('stopped', { identity: config.identity });
} catch (error) {
  process.exitCode = error instanceof ConfigError ? 2 : 1;
  const message = error instanceof Error ? error.message : String(error);
  emit('failed', { message });
  console.error(`agent: ${message}`);
}
