import { join } from 'node:path';
import type { Log } from '../../core/log.ts';
import { summarizeCertificate } from '../../core/certificate.ts';
import { createCaApp } from './app.ts';
import { DATABASE_FILE, loadAuthority } from './authority.ts';
import { crlRefreshMs, describeConfig, type CaConfig } from './config.ts';
import type { CaContext } from './context.ts';
import { crlPublisher, describeCrl } from './crl-publisher.ts';
import { CaDatabase } from './database.ts';
import { formatDuration } from './duration.ts';
import { startCaServer } from './server.ts';
import { ensureServingCertificate } from './serving.ts';

const SERVING_CHECK_MS = 3_600_000;

export interface RunningCa {
  port: number;
  context: CaContext;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes the database. */
  close(graceMs?: number): Promise<void>;
}

/** `serve`: loads what `init` made and answers the API until closed. */
export async function startCa(config: CaConfig, log: Log): Promise<RunningCa> {
  const authority = await loadAuthority(config.caDir, new Date());
  const db = new CaDatabase(join(config.caDir, DATABASE_FILE));
  try {
    const serving = await ensureServingCertificate(config.caDir, authority, db, new Date());
    const now = () => new Date();
    const crl = crlPublisher(authority, db, config.crlNextUpdateMs, now);
    const context: CaContext = { authority, db, certTtlMs: config.certTtlMs, crl, now };
    const server = await startCaServer(config, createCaApp(context, log), { pair: serving.pair, caPem: authority.certificatePem }, log);
    log.info('listening', {
      url: `https://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}/`,
      ...describeConfig(config),
      ca: { subject: authority.certificate.subject.trim(), fingerprint256: authority.certificate.fingerprint256, notAfter: authority.certificate.validToDate.toISOString() },
      serving: summarizeCertificate(serving.pair.certificate),
    });
    log.info('crl_published', { ...describeCrl(crl.current()), why: 'start' });
    // Re-signed well before nextUpdate, revocations or not: a relying party with
    // an expired CRL refuses every client.
    const crlSchedule = setInterval(() => {
      try {
        log.info('crl_published', { ...describeCrl(crl.publish()), why: 'schedule' });
      } catch (error) {
        log.error('crl_publish_failed', { error: String(error) });
      }
    }, crlRefreshMs(config)).unref();
    if (config.certTtlCappedFrom !== undefined) {
      log.warn('cert_ttl_capped', { asked: formatDuration(config.certTtlCappedFrom), using: formatDuration(config.certTtlMs) });
    }
    // The serving certificate lives 30 days: check hourly, swap it in for new connections in its last third.
    const refresh = setInterval(() => {
      ensureServingCertificate(config.caDir, authority, db, new Date())
        .then(({ pair, issued }) => {
          if (!issued) return;
          server.setServing(pair);
          log.info('serving_certificate_renewed', { serial: pair.certificate.serialNumber, notAfter: pair.certificate.validToDate.toISOString() });
        })
        .catch((error: unknown) => log.error('serving_certificate_renewal_failed', { error: String(error) }));
    }, SERVING_CHECK_MS).unref();
    return {
      port: server.port,
      context,
      async close(graceMs = 3000) {
        clearInterval(refresh);
        clearInterval(crlSchedule);
        await server.close(graceMs);
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
