import type { X509Certificate } from 'node:crypto';
import { CrlError, parseCrls, type ParsedCrl } from '../../core/crl.ts';
import { TlsMaterialError } from '../../core/tls-material.ts';

export const CRL_FILE = 'crl.pem';

/** The CRLs in force: the PEM given to OpenSSL, and what the server checks per request. */
export interface LoadedCrl {
  pem: string;
  crls: ParsedCrl[];
  /** Every revoked serial, normalized: one set lookup per request. */
  revokedSerials: ReadonlySet<string>;
  /** The earliest nextUpdate: after it, OpenSSL refuses every client (CRL_HAS_EXPIRED). */
  nextUpdate: Date;
  /** The shortest lifetime (nextUpdate - thisUpdate) of the CRLs: the warning starts when half of it is left. */
  lifetimeMs: number;
}

/**
 * Checks a crl.pem against the ca.crt it will be loaded with, before OpenSSL
 * sees it. Node turns on CRL_CHECK_ALL with any CRL: every CA a client chains
 * to needs a current CRL, or all of that CA's clients are refused
 * (UNABLE_TO_GET_CRL). So each CA in ca.crt must have exactly its own CRL, each
 * CRL must come from one of them, and none may be stale (CRL_HAS_EXPIRED for
 * every client), from the future, or older than the one in force.
 */
export function checkCrl(file: string, pem: string, ca: readonly X509Certificate[], now: Date, inForce: LoadedCrl | undefined): LoadedCrl {
  let crls: ParsedCrl[];
  try {
    crls = parseCrls(pem);
  } catch (error) {
    if (error instanceof CrlError) throw new TlsMaterialError(file, error.message);
    throw error;
  }
  const refuse = (problem: string) => new TlsMaterialError(file, problem);
  for (const [index, crl] of crls.entries()) {
    const signer = ca.find((certificate) => crl.isSignedBy(certificate));
    if (signer === undefined) throw refuse(`CRL #${index + 1} is signed by none of the CAs in ca.crt (a CRL from another CA)`);
    if (crl.nextUpdate === undefined) throw refuse(`CRL #${index + 1} has no nextUpdate: nobody could tell when it is stale`);
    if (crl.nextUpdate <= now) throw refuse(`CRL #${index + 1} is stale: its nextUpdate ${crl.nextUpdate.toISOString()} has passed (it would refuse every client, CRL_HAS_EXPIRED)`);
    if (crl.thisUpdate > now) throw refuse(`CRL #${index + 1} is not valid before ${crl.thisUpdate.toISOString()} (it would refuse every client, CRL_NOT_YET_VALID)`);
    const previous = inForce?.crls.find((candidate) => candidate.isSignedBy(signer));
    if (previous?.number !== undefined && crl.number !== undefined && crl.number < previous.number) {
      throw refuse(`CRL #${index + 1} is older than the one in force (number ${crl.number} < ${previous.number}): a replayed CRL could unrevoke certificates`);
    }
  }
  for (const certificate of ca) {
    if (!crls.some((crl) => crl.isSignedBy(certificate))) {
      throw refuse(`no CRL for the CA "${certificate.subject.trim().replaceAll('\n', ', ')}" in ca.crt: with a CRL loaded, OpenSSL checks every CA of a chain and would refuse all of its clients (UNABLE_TO_GET_CRL)`);
    }
  }
  const dated = crls as (ParsedCrl & { nextUpdate: Date })[];
  return {
    pem,
    crls,
    revokedSerials: new Set(crls.flatMap((crl) => [...crl.revokedSerials])),
    nextUpdate: new Date(Math.min(...dated.map((crl) => crl.nextUpdate.getTime()))),
    lifetimeMs: Math.min(...dated.map((crl) => crl.nextUpdate.getTime() - crl.thisUpdate.getTime())),
  };
}

/** Serials revoked by `next` that `before` did not revoke: the connections of those peers must end. */
export function newlyRevoked(before: LoadedCrl | undefined, next: LoadedCrl | undefined): Set<string> {
  const added = new Set<string>();
  for (const serial of next?.revokedSerials ?? []) if (!(before?.revokedSerials.has(serial) ?? false)) added.add(serial);
  return added;
}

/** What a log line says about the CRLs in force. */
export function loggedCrl(crl: LoadedCrl): Record<string, unknown> {
  return {
    crls: crl.crls.map((one) => ({ number: one.number?.toString() ?? null, thisUpdate: one.thisUpdate.toISOString(), nextUpdate: one.nextUpdate?.toISOString() ?? null, revoked: one.revokedSerials.size })),
    nextUpdate: crl.nextUpdate.toISOString(),
  };
}
