import { exitCodeOf, MtlsError } from '../../core/errors.ts';
import { formatSubjectName } from '../../core/names.ts';
import { readServerConfig } from './config.ts';
import { jsonLog } from '../../core/log.ts';
import { loggedCertificate, loggedTrust } from './log-fields.ts';
import { exposedKeyMode, loadServerMaterial } from './material.ts';
import { loggedCrl } from './revocation.ts';
import { startServer } from './server.ts';

const log = jsonLog();
const FORCED_STOP_MARGIN_MS = 2000;

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

  // PID 1 in a container gets no default signal handling: stop cleanly ourselves.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting_down', { signal });
    // Whatever still holds the process (a stuck close, a blocked read) does not outlive the grace period.
    // Not process.exit(): it waits for libuv's worker threads, and one blocked in a read never returns.
    // SIGKILL cannot be caught or waited on; the log line is out first (stdout to a pipe or file is
    // written synchronously).
    setTimeout(() => {
      log.error('stop_forced', { afterMs: config.shutdownGraceMs + FORCED_STOP_MARGIN_MS });
      log.flush();
      process.kill(process.pid, 'SIGKILL');
    }, config.shutdownGraceMs + FORCED_STOP_MARGIN_MS).unref();
    void server.close().then(() => {
      log.info('stopped');
      log.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void server.reload());
} catch (error) {
  const message = error instanceof MtlsError ? error.message : `cannot start: ${String(error)}`;
  log.error('startup_failed', { message });
  log.flush();
  console.error(`server: ${message}`);
  process.exitCode = exitCodeOf(error);
}
