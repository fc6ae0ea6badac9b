import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Emit } from '../../core/json-lines.ts';
import { readTlsMaterial, readTrust, TlsMaterialError, type TlsMaterial } from '../../core/tls-material.ts';
import { CaError, type Issued } from './ca-client.ts';
import type { AgentConfig } from './config.ts';
import { keyFingerprint256 } from '../../core/key-fingerprint.ts';
import { checkIssued, IssuedCertificateError } from './issued.ts';
import { renewalTime, retryDelay, waitBeforeRenewal, type Random } from '../../core/renewal.ts';
import { commit, discard, leftoverStagedKey, removeLeftovers, stageKey, type Staging } from './volume.ts';

export const TOKEN_FILE = 'token';

/** What the agent talks to; injected, so tests can drive it with a real CA on loopback and a fake clock. */
export interface AgentDeps {
  emit: Emit;
  now(): Date;
  random: Random;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  newKey(): Promise<KeyObject>;
  /** A CSR signed by `key`, asking for `identity`. */
  csr(key: KeyObject, identity: string): string;
  keyPem(key: KeyObject): string;
  enroll(trustPem: string, token: string, csr: string): Promise<Issued>;
  renew(trustPem: string, current: TlsMaterial, csr: string): Promise<Issued>;
}

/**
 * Keeps the workload's volume holding a valid certificate until `signal`
 * aborts: enrolls with the bootstrap token when there is none (or it
 * expired), renews over mTLS at about 2/3 of each certificate's lifetime,
 * with a new key every time, and retries with bounded backoff while the CA
 * is unreachable. The current certificate stays in place until its successor
 * is installed.
 */
export async function runAgent(config: AgentConfig, deps: AgentDeps, signal: AbortSignal): Promise<void> {
  let held = await readHeld(config, deps);
  const unanswered = await adoptLeftover(config, deps, held);
  await removeLeftovers(config.tlsDir, unanswered.attempt?.staging);
  let renewAt = held === undefined ? undefined : renewalTime(validity(held.certificate), deps.random);
  let failures = 0;
  let expiredReported = false;
  while (!signal.aborted) {
    if (held !== undefined && renewAt !== undefined && failures === 0) {
      await deps.sleep(waitBeforeRenewal(renewAt, deps.now(), config.backoff.minMs), signal);
      if (signal.aborted) break;
    }
    const usable = held !== undefined && deps.now() < held.certificate.validToDate ? held : undefined;
    if (held !== undefined && usable === undefined && !expiredReported) {
      expiredReported = true;
      deps.emit('certificate_expired', { identity: config.identity, ...describe(held.certificate), hint: 'renewal needs a valid certificate: enrolling again with the token in BOOTSTRAP_DIR' });
    }
    try {
      const next = await rotate(config, deps, usable, unanswered);
      held = next;
      renewAt = renewalTime(validity(next.certificate), deps.random);
      failures = 0;
      expiredReported = false;
      deps.emit(usable === undefined ? 'enrolled' : 'renewed', {
        identity: config.identity,
        ...describe(next.certificate),
        ...(usable === undefined ? {} : { previousSerial: usable.certificate.serialNumber, previousPublicKeyFingerprint: keyFingerprint256(usable.certificate.publicKey) }),
        renewAt: renewAt.toISOString(),
      });
    } catch (error) {
      if (!isExpectedFailure(error)) throw error;
      failures++;
      const timeLeftMs = usable === undefined ? 0 : usable.certificate.validToDate.getTime() - deps.now().getTime();
      const delay = retryDelay(failures, timeLeftMs, config.backoff, deps.random);
      deps.emit(usable === undefined ? 'enroll_failed' : 'renew_failed', {
        identity: config.identity,
        code: (error as { code: string }).code,
        message: (error as Error).message,
        attempt: failures,
        retryInMs: delay,
        ...(usable === undefined ? {} : stillHeld(usable.certificate, timeLeftMs)),
      });
      await deps.sleep(delay, signal);
    }
  }
}

/** A staged key and its CSR. */
interface Attempt {
  staging: Staging;
  key: KeyObject;
  csr: string;
}

/**
 * An enrollment or a renewal the CA never answered, kept for the retry: the CA
 * may have issued already (spent the token, or superseded the presented
 * certificate), and then gives that certificate again only to a CSR for the same key.
 */
interface Unanswered {
  attempt?: Attempt;
  /** What it was for: ENROLLMENT, or the serial of the certificate it presented. */
  purpose?: string;
}

const ENROLLMENT = 'enrollment';

/** One new key (or the unanswered request's), one CSR, one certificate, one swap; the staged key is removed if a step fails, unless the CA never answered. */
async function rotate(config: AgentConfig, deps: AgentDeps, current: TlsMaterial | undefined, unanswered: Unanswered): Promise<TlsMaterial> {
  const trust = current ?? (await readTrust(config.bootstrapDir));
  const purpose = current === undefined ? ENROLLMENT : current.certificate.serialNumber;
  const retry = unanswered.purpose === purpose ? unanswered.attempt : undefined;
  if (retry === undefined && unanswered.attempt !== undefined) await discard(unanswered.attempt.staging);
  unanswered.attempt = undefined;
  const attempt = retry ?? (await newAttempt(config, deps));
  try {
    const issued = current === undefined ? await deps.enroll(trust.caPem, await readToken(config.bootstrapDir), attempt.csr) : await deps.renew(trust.caPem, current, attempt.csr);
    const now = deps.now();
    const certificate = checkIssued(issued, attempt.key, { identity: config.identity, role: config.role, trust: trust.ca }, now);
    await commit(config.tlsDir, attempt.staging, { certificatePem: issued.certificatePem, caPem: issued.caPem, serial: certificate.serialNumber }, now);
  } catch (error) {
    if (error instanceof CaError && error.status === undefined) {
      Object.assign(unanswered, { attempt, purpose });
    } else {
      await discard(attempt.staging);
    }
    throw error;
  }
  return readTlsMaterial(config.tlsDir);
}

/**
 * A key a stopped agent staged and never installed. Its request may have been
 * answered (the token spent, the presented certificate superseded) and the
 * answer lost with the process: the first request after a restart brings that
 * key again, and the CA gives that certificate again. A key the CA never
 * certified is as good as a new one.
 */
async function adoptLeftover(config: AgentConfig, deps: AgentDeps, held: TlsMaterial | undefined): Promise<Unanswered> {
  const leftover = await leftoverStagedKey(config.tlsDir);
  if (leftover === undefined) return {};
  const purpose = held !== undefined && deps.now() < held.certificate.validToDate ? held.certificate.serialNumber : ENROLLMENT;
  try {
    const key = createPrivateKey(leftover.keyPem);
    const attempt = { staging: leftover.staging, key, csr: deps.csr(key, config.identity) };
    deps.emit('staged_key_adopted', { identity: config.identity, for: purpose === ENROLLMENT ? 'enrollment' : 'renewal', why: 'a key staged before a stop and never installed: the CA may have answered its request' });
    return { attempt, purpose };
  } catch {
    return {}; // not a key we can use: removed with the other leftovers
  }
}

async function newAttempt(config: AgentConfig, deps: AgentDeps): Promise<Attempt> {
  const key = await deps.newKey();
  const staging = await stageKey(config.tlsDir, deps.keyPem(key));
  try {
    return { staging, key, csr: deps.csr(key, config.identity) };
  } catch (error) {
    await discard(staging);
    throw error;
  }
}

/** The certificate and key in the volume, when they are there and belong together; expired ones too (they say what to do next). */
async function readHeld(config: AgentConfig, deps: AgentDeps): Promise<TlsMaterial | undefined> {
  try {
    return await readTlsMaterial(config.tlsDir);
  } catch (error) {
    if (!(error instanceof TlsMaterialError)) throw error;
    if (error.problem !== 'missing') deps.emit('volume_unusable', { identity: config.identity, file: error.file, problem: error.problem, action: 'enrolling anew' });
    return undefined;
  }
}

/** The one-time token init wrote; a missing one is a CaError-like failure the loop retries (it may still be on its way). */
async function readToken(bootstrapDir: string): Promise<string> {
  const file = join(bootstrapDir, TOKEN_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    throw new CaError('TOKEN_MISSING', `no enrollment token at ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
}

function isExpectedFailure(error: unknown): boolean {
  return error instanceof CaError || error instanceof IssuedCertificateError || error instanceof TlsMaterialError;
}

/** What a failed renewal leaves in place, and for how long. */
function stillHeld(certificate: X509Certificate, timeLeftMs: number): Record<string, unknown> {
  return {
    serial: certificate.serialNumber,
    notAfter: certificate.validToDate.toISOString(),
    timeLeftMs: Math.max(0, timeLeftMs),
    keeping: 'the current certificate, until it expires',
  };
}

function validity(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: certificate.validFromDate, notAfter: certificate.validToDate };
}

/** What the log says about a certificate: enough to follow a rotation, and to tell its key from the previous one's. */
function describe(certificate: X509Certificate): Record<string, string> {
  return {
    serial: certificate.serialNumber,
    notBefore: certificate.validFromDate.toISOString(),
    notAfter: certificate.validToDate.toISOString(),
    publicKeyFingerprint: keyFingerprint256(certificate.publicKey),
  };
}
