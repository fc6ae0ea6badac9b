import { exitCodeOf, MtlsError } from '../../core/errors.ts';
import { formatSubjectName } from '../../core/names.ts';
import { readServerConfig } from './config.ts';
import { jsonLog } from '../../core/log.ts';
import { loggedCertificate, loggedTrust } from './log-fields.ts';
import { exposedKeyMode, loadServerMaterial } from './material.ts';
import { loggedCrl } from './revocation.ts';
import { startServer } from './server.ts';
import { stopOnSignals } from '../../core/stop.ts';

const log = jsonLog();

try {
  const config = readServerConfig(process.env);
  const material = await loadServerMaterial(config.tlsDir);
  const exposed = await exposedKeyMode(config.tlsDir);
  if (exposed !== undefined) log.warn('tls_key_exposed', { ...exposed, problem: 'group or others may read the private key', fix: `chmod 600 ${exposed.file}` });
  const server = await startServer(config, material, log);
  log.info('listening', {
    url: `https://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}/`,
    tlsDir: config.tlsDir,
    health: server.healthPort === undefined ? null : `https://127.0.0.1:${server.healthPort}/healthz`,
    allowedClients: config.allowedClients?.map(formatSubjectName) ?? 'any client certificate from the trusted CA (with a DNS or URI SAN)',
    certificate: loggedCertificate(material.certificate),
    trusts: loggedTrust(material.ca),
    crl: material.crl === undefined ? 'none: revoked certificates are not refused (put the CAs\' CRLs in crl.pem)' : loggedCrl(material.crl),
  });

  stopOnSignals({ signals: ['SIGTERM', 'SIGINT'], graceMs: config.shutdownGraceMs, log, close: () => server.close() });
  process.on('SIGHUP', () => void server.reload());
} catch (error) {
  const message = error instanceof MtlsError ? error.message : `cannot start: ${String(error)}`;
  log.error('startup_failed', { message });
  log.flush();
  console.error(`server: ${message}`);
  process.exitCode = exitCodeOf(error);
}
