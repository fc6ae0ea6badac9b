import type { TLSSocket } from 'node:tls';
import { REVOCATION_REASONS, type RevocationReason } from '../../core/crl.ts';
import type { CaContext } from './context.ts';
import type { CertificateRecord } from './database.ts';
import { Refusal } from './errors.ts';
import { presentedCertificate } from './renew.ts';

/**
 * The administrator behind a request: a valid certificate of this CA, in the
 * inventory, not revoked, of role admin. A workload's certificate is
 * authenticated but not allowed to administer (403).
 */
export function adminOf(context: CaContext, socket: TLSSocket): CertificateRecord {
  const presented = presentedCertificate(context, socket, context.now());
  if (presented.role !== 'admin') {
    throw new Refusal('ROLE_FORBIDDEN', `administration needs a certificate of role admin; this one is "${presented.identity}", role ${presented.role}`, {
      presented: { identity: presented.identity, role: presented.role, serial: presented.serial },
    });
  }
  return presented;
}

/** What to revoke: one certificate by serial, or every unexpired certificate of an identity. */
export type RevocationTarget = { serial: string } | { identity: string };

export interface RevocationRequest {
  target: RevocationTarget;
  reason: RevocationReason;
}

/** `{"serial": HEX}` or `{"identity": NAME}`, and an optional RFC 5280 `"reason"` (unspecified by default). */
export function revocationRequest(body: Record<string, unknown>): RevocationRequest {
  const { serial, identity, reason = 'unspecified' } = body;
  if ((serial === undefined) === (identity === undefined)) throw new Refusal('REVOCATION_INVALID', 'the body needs exactly one of "serial" (hex) or "identity"');
  if (typeof reason !== 'string' || !Object.hasOwn(REVOCATION_REASONS, reason)) {
    throw new Refusal('REVOCATION_INVALID', `"reason" must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
  }
  if (serial !== undefined) {
    if (typeof serial !== 'string' || !/^[0-9a-f]{1,64}$/i.test(serial.replaceAll(':', ''))) throw new Refusal('REVOCATION_INVALID', '"serial" must be a hexadecimal serial number');
    return { target: { serial: serial.replaceAll(':', '').toUpperCase() }, reason: reason as RevocationReason };
  }
  if (typeof identity !== 'string' || !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(identity)) throw new Refusal('REVOCATION_INVALID', '"identity" must be a DNS name');
  return { target: { identity: identity.toLowerCase() }, reason: reason as RevocationReason };
}

export interface RevocationResult {
  revoked: CertificateRecord[];
  /** Targeted, but revoked before this request: their first revocation stands. */
  alreadyRevoked: CertificateRecord[];
  /** For an identity: unused enrollment tokens spent, so a copy of its bootstrap volume cannot enroll it again. */
  tokensSpent: number;
}

/** Revokes in one transaction; the caller publishes a new CRL when anything changed. */
export function revoke(context: CaContext, request: RevocationRequest): RevocationResult {
  const now = context.now();
  return context.db.transaction(() => {
    const targets = targetsOf(context, request.target, now);
    const revoked: CertificateRecord[] = [];
    const alreadyRevoked: CertificateRecord[] = [];
    for (const record of targets) {
      if (context.db.revoke(record.serial, request.reason, now)) revoked.push({ ...record, status: 'revoked', revokedAt: now.toISOString(), revocationReason: request.reason });
      else alreadyRevoked.push(record);
    }
    const tokensSpent = 'identity' in request.target ? context.db.spendUnusedTokens(request.target.identity, now) : 0;
    return { revoked, alreadyRevoked, tokensSpent };
  });
}

function targetsOf(context: CaContext, target: RevocationTarget, now: Date): CertificateRecord[] {
  if ('serial' in target) {
    const record = context.db.findBySerial(target.serial);
    if (record === undefined) throw new Refusal('CERTIFICATE_NOT_FOUND', `this CA never issued serial ${target.serial}`);
    return [record];
  }
  if (!context.db.knowsIdentity(target.identity)) throw new Refusal('CERTIFICATE_NOT_FOUND', `this CA never issued a certificate for "${target.identity}"`);
  // Superseded certificates too: each still works until it expires, and its key may be the one that leaked.
  return context.db.unexpiredCertificates(target.identity, now);
}
