// The agent container's health check: exit 0 once TLS_DIR holds a certificate
// and key that belong together, valid now, for ROLE. The workload waits for it.
import { ConfigError, requiredSetting } from '../shared/config-error.ts';
import { loadTlsMaterial, TlsMaterialError, type Role } from '../shared/tls-material.ts';

try {
  const tlsDir = requiredSetting(process.env, 'TLS_DIR', '/tls');
  const role = requiredSetting(process.env, 'ROLE', 'server') as Role;
  await loadTlsMaterial(tlsDir, role);
} catch (error) {
  const known = error instanceof ConfigError || error instanceof TlsMaterialError;
  console.error(`agent healthcheck: ${known ? (error as Error).message : String(error)}`);
  process.exitCode = 1;
}
