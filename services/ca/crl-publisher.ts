import { issueCrl, type RevokedCertificate } from '../../core/crl.ts';
import type { Authority } from './authority.ts';
import type { CaDatabase } from './database.ts';

// Like issued certificates: a relying party whose clock lags a little must not
// see a CRL from the future (CRL_NOT_YET_VALID refuses every client).
const BACKDATE_MS = 5000;

/** The CRL the CA serves now, and what a log line says about it. */
export interface PublishedCrl {
  pem: string;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: number;
}

export interface CrlPublisher {
  current(): PublishedCrl;
  /** Signs a new CRL from the inventory as it is now (a revocation, or the schedule) and serves it from then on. */
  publish(): PublishedCrl;
}

/**
 * Signs CRLs from the inventory: every revoked certificate that has not
 * expired, a number one higher than the last one (kept in the database, so a
 * restarted CA never goes back), valid `nextUpdateMs`. The first one is
 * signed at once.
 */
export function crlPublisher(authority: Authority, db: CaDatabase, nextUpdateMs: number, now: () => Date): CrlPublisher {
  const sign = (): PublishedCrl => {
    const at = now();
    const thisUpdate = new Date(at.getTime() - BACKDATE_MS);
    const nextUpdate = new Date(at.getTime() + nextUpdateMs);
    const revoked = db.revokedUnexpired(at).map(entryOf);
    const number = db.nextCrlNumber();
    const pem = issueCrl({ issuer: authority, number, thisUpdate, nextUpdate, revoked });
    return { pem, number, thisUpdate, nextUpdate, revoked: revoked.length };
  };
  let published = sign();
  return {
    current: () => published,
    publish: () => (published = sign()),
  };
}

function entryOf(record: { serial: string; revokedAt: string | null; revocationReason: RevokedCertificate['reason'] | null }): RevokedCertificate {
  return { serialNumber: record.serial, revokedAt: new Date(record.revokedAt ?? 0), reason: record.revocationReason ?? 'unspecified' };
}

/** What the log says about a CRL. */
export function describeCrl(crl: PublishedCrl): Record<string, unknown> {
  return { number: crl.number.toString(), thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate.toISOString(), revoked: crl.revoked };
}
