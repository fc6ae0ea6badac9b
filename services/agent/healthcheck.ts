// The agent container's health check: exit 0 once TLS_DIR holds a certificate
// and key that belong together, valid now, for ROLE, and (when the agent
// fetches CRLs) a CRL: a server must not start without the one that refuses
// revoked clients. The workload waits for it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, integerSetting, requiredSetting } from '../../core/config-error.ts';
import { parseCrls } from '../../core/crl.ts';
import { loadTlsMaterial, type Role } from '../../core/tls-material.ts';
import { MtlsError } from '../../core/errors.ts';

try {
  const tlsDir = requiredSetting(process.env, 'TLS_DIR', '/tls');
  const role = requiredSetting(process.env, 'ROLE', 'server') as Role;
  await loadTlsMaterial(tlsDir, role);
  if (integerSetting(process.env, 'CRL_REFRESH_MS', 0, 0, 3_600_000) > 0) {
    const file = join(tlsDir, 'crl.pem');
    parseCrls(await readFile(file, 'utf8').catch(() => Promise.reject(new ConfigError(`${file}: no CRL fetched yet`))));
  }
} catch (error) {
  const known = error instanceof MtlsError;
  console.error(`agent healthcheck: ${known ? (error as Error).message : String(error)}`);
  process.exitCode = 1;
}
