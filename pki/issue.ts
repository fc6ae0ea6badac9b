import { X509Certificate, type KeyObject } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { summarizeCertificate } from '../core/certificate.ts';
import { MtlsError } from '../core/errors.ts';
import { formatSubjectName, namesFromSubjectAltName, type SubjectName } from '../core/names.ts';
import {
  CA_FILE,
  CERTIFICATE_FILE,
  isIssuedBy,
  KEY_FILE,
  readKeyPair,
  TlsMaterialError,
  type KeyPair,
} from '../core/tls-material.ts';
import { clampTo, commonNameOf, createCaCertificate, createCsr, createSelfSigned, DAY_MS, issueFromCsr, sameNames, validity, type Profile, type Validity } from './certificates.ts';
import { ensureDirectory, isPresent, readIfPresent, writeFileAtomic } from '../core/files.ts';
import { CERTIFICATE_MODE } from '../core/new-file.ts';
import { CA_FOLDER_MODE, checkOutFolder, IDENTITY_FOLDER_MODE, writeIdentity } from './files.ts';
import { CA_KEY_FILE, writeCaPair } from '../core/ca-pair.ts';
import { CA_FOLDER, checkOutWritable, prepareFolders, type FolderNotes } from './folders.ts';
import { describeKeySpec, generateKey, privateKeyToPem, type KeySpec } from '../core/x509.ts';
import { keyKind, keySupply } from './keys.ts';
import { DEFAULT_LOCK_WAIT_MS, lockOut } from './lock.ts';
import { foldersOf, type PkiOptions } from './options.ts';
import type { Outcome, PkiResult } from './outcome.ts';

const RENEW_BEFORE_MS = 30 * DAY_MS;

/** Existing CA material that must not be replaced without --force. */
export class CaMaterialError extends MtlsError {
  readonly code = 'ECAMATERIAL';
}

/** A leaf identity: which folder, what it is called, what it may do. */
interface LeafSpec {
  identity: string;
  commonName: string;
  names: SubjectName[];
  profile: Profile;
}

/** A step after the method's own issuance, run under the same lock (the demo identities are one). */
export type NextStep = (result: PkiResult, now: Date) => Promise<PkiResult>;

export async function runPki(options: PkiOptions, now = new Date(), lockWaitMs = DEFAULT_LOCK_WAIT_MS, next?: NextStep): Promise<PkiResult> {
  await checkOutWritable(options.out, foldersOf(options.method, options.withDemoIdentities));
  // Created when missing, never re-moded: --out may be /tmp or a volume's parent.
  // Not group-writable whatever the umask, or checkOutFolder would refuse it.
  await mkdir(options.out, { recursive: true, mode: IDENTITY_FOLDER_MODE });
  await checkOutFolder(options.out);
  const release = await lockOut(options.out, lockWaitMs);
  try {
    const notes = await prepareFolders(options);
    const outcomes = options.method === 'method1' ? await issueMethod1(options, now) : await issueMethod2(options, now);
    const result = { options, outcomes: outcomes.map((outcome) => withNotes(outcome, notes)) };
    return next === undefined ? result : await next(result, now);
  } finally {
    await release();
  }
}

function withNotes(outcome: Outcome, notes: FolderNotes): Outcome {
  const extra = notes.get(outcome.identity) ?? [];
  return extra.length === 0 ? outcome : { ...outcome, reason: [outcome.reason, ...extra].join('; ') };
}

// ---- method1: a private CA signs one certificate per identity ----

async function issueMethod1(options: PkiOptions, now: Date): Promise<Outcome[]> {
  const leaves: LeafSpec[] = [
    { identity: 'server', commonName: commonNameOf(options.serverNames, 'server'), names: options.serverNames, profile: 'server' },
    { identity: 'client', commonName: commonNameOf(options.clientNames, 'client'), names: options.clientNames, profile: 'client' },
  ];
  const caDir = join(options.out, CA_FOLDER);
  const existing = options.force ? undefined : await loadCa(caDir, now);
  // A new CA means every leaf is new too: generate all the keys at once.
  const nextKey = keySupply(options.key, existing ? 0 : 1 + leaves.length);
  const ca = existing ?? (await createCa(caDir, options.caName, validity(now, options.days), await nextKey()));
  const caOutcome: Outcome = {
    identity: 'ca',
    action: existing ? 'kept' : 'issued',
    reason: existing ? caKeptReason(ca.certificate, options.key, options.days, now) : options.force ? '--force: new CA' : 'no CA yet',
    certificate: summarizeCertificate(ca.certificate),
  };
  const leafOutcomes = await Promise.all(leaves.map((leaf) => ensureLeaf(leaf, ca, options, now, !existing, nextKey)));
  return [caOutcome, ...leafOutcomes];
}

/** The existing CA, or undefined when there is none; anything half-there or broken is refused. */
async function loadCa(caDir: string, now: Date): Promise<KeyPair | undefined> {
  const present = await Promise.all([CA_FILE, CA_KEY_FILE].map((name) => isPresent(join(caDir, name))));
  if (!present[0] && !present[1]) return undefined;
  let ca: KeyPair;
  try {
    ca = await readKeyPair(caDir, CA_FILE, CA_KEY_FILE);
  } catch (error) {
    if (!(error instanceof TlsMaterialError)) throw error;
    throw refuseCa(error.message, error);
  }
  if (!ca.certificate.ca) throw refuseCa(`${join(caDir, CA_FILE)} is not a CA certificate`);
  if (now > ca.certificate.validToDate) {
    throw refuseCa(`the CA in ${caDir} expired on ${ca.certificate.validToDate.toISOString()}`);
  }
  return ca;
}

/** Kept, and said so; with a warning once the CA itself is near its end (only --force replaces a CA). */
function caKeptReason(cert: X509Certificate, wanted: KeySpec, caDays: number, now: Date): string {
  const kept = `existing CA kept${caKeyNote(cert, wanted)}`;
  if (cert.validToDate.getTime() - now.getTime() >= renewalWindowMs(caDays)) return kept;
  return `${kept}; WARNING: it expires ${cert.validToDate.toISOString()}, rerun with --force before then (every certificate is re-issued)`;
}

/** A CA of another key type keeps signing (mixed chains work); say so, and how to change it. */
function caKeyNote(cert: X509Certificate, wanted: KeySpec): string {
  const [has, asked] = [keyKind(cert.publicKey), describeKeySpec(wanted)];
  return has === asked ? '' : `; its key stays ${has} (--force replaces it with ${asked})`;
}

/** Renew 30 days before the end, or a third of the way from it for short-lived certificates. */
function renewalWindowMs(validityDays: number): number {
  return Math.min(RENEW_BEFORE_MS, (validityDays * DAY_MS) / 3);
}

function refuseCa(problem: string, cause?: unknown): CaMaterialError {
  return new CaMaterialError(`${problem}; refusing to replace the CA (--force issues a new CA and re-issues every certificate)`, { cause });
}

async function createCa(caDir: string, commonName: string, range: Validity, key: KeyObject): Promise<KeyPair> {
  const certificatePem = createCaCertificate(commonName, key, range);
  const keyPem = privateKeyToPem(key);
  await ensureDirectory(caDir, CA_FOLDER_MODE);
  // Under the run lock, and decided above (no CA, or --force): the pair goes over whatever is there.
  await writeCaPair(caDir, keyPem, certificatePem, 'replace');
  return { certificatePem, keyPem, certificate: new X509Certificate(certificatePem), key };
}

async function ensureLeaf(
  leaf: LeafSpec,
  ca: KeyPair,
  options: PkiOptions,
  now: Date,
  newCa: boolean,
  nextKey: () => Promise<KeyObject>,
): Promise<Outcome> {
  const dir = join(options.out, leaf.identity);
  const current = await readLeaf(dir);
  const problem = newCa
    ? options.force ? '--force' : 'new CA'
    : 'problem' in current ? current.problem : staleReason(current.pair.certificate, leaf, ca, options, now);
  if (problem === undefined && 'pair' in current) {
    await ensureDirectory(dir, IDENTITY_FOLDER_MODE);
    const caUpdated = await writeIfChanged(join(dir, CA_FILE), ca.certificatePem, CERTIFICATE_MODE);
    const reason = caUpdated ? `valid; ${CA_FILE} updated` : 'valid and current';
    return { identity: leaf.identity, action: 'kept', reason, certificate: summarizeCertificate(current.pair.certificate) };
  }
  // As in practice: a fresh key, a CSR signed with it, and the CA signs the CSR.
  const key = await nextKey();
  const csr = createCsr(leaf.commonName, leaf.names, key);
  const leafValidity = clampTo(validity(now, options.leafDays), ca.certificate.validToDate);
  const certificatePem = issueFromCsr(csr, leaf.profile, { certificatePem: ca.certificatePem, key: ca.key }, leafValidity, leaf);
  await writeIdentity(dir, key, certificatePem, ca.certificatePem);
  return {
    identity: leaf.identity,
    action: 'issued',
    reason: problem ?? 'unusable',
    certificate: summarizeCertificate(new X509Certificate(certificatePem)),
  };
}

/** Why a readable, matching leaf must be re-issued, or undefined when it is fine. */
function staleReason(cert: X509Certificate, leaf: LeafSpec, ca: KeyPair, options: PkiOptions, now: Date): string | undefined {
  if (!isIssuedBy(cert, ca.certificate)) return 'not signed by the current CA';
  return commonReasons(cert, leaf, options.key, now, options.leafDays, ca.certificate.validToDate);
}

// ---- method2: one self-signed certificate, shared by both sides ----

async function issueMethod2(options: PkiOptions, now: Date): Promise<Outcome[]> {
  const shared: LeafSpec = {
    identity: 'server+client',
    commonName: 'localhost',
    names: unionOfNames(options.serverNames, options.clientNames),
    profile: 'server+client',
  };
  const dirs = [join(options.out, 'server'), join(options.out, 'client')];
  const current = options.force ? { problem: '--force' } : await inspectShared(dirs, shared, options, now);
  if ('kept' in current) {
    const certificate = summarizeCertificate(current.kept.certificate);
    return ['server', 'client'].map((identity) => ({ identity, action: 'kept', reason: 'valid and current', certificate }));
  }
  const { problem } = current;
  const key = await generateKey(options.key);
  const certificatePem = createSelfSigned(shared.commonName, shared.names, key, validity(now, options.days));
  // Each side trusts exactly the one certificate both of them present.
  await Promise.all(dirs.map((dir) => writeIdentity(dir, key, certificatePem, certificatePem)));
  const certificate = summarizeCertificate(new X509Certificate(certificatePem));
  return ['server', 'client'].map((identity) => ({ identity, action: 'issued', reason: problem, certificate }));
}

/** The shared material to keep, or why it must be re-issued: any folder broken, or the two folders disagree. */
async function inspectShared(
  dirs: string[],
  shared: LeafSpec,
  options: PkiOptions,
  now: Date,
): Promise<{ kept: KeyPair } | { problem: string }> {
  const reads = await Promise.all(dirs.map(readLeaf));
  const pairs: KeyPair[] = [];
  for (const [index, read] of reads.entries()) {
    if ('problem' in read) return { problem: `${dirs[index]}: ${read.problem}` };
    pairs.push(read.pair);
  }
  const [first, second] = pairs as [KeyPair, KeyPair];
  if (first.certificatePem !== second.certificatePem || first.keyPem !== second.keyPem) {
    return { problem: 'server and client hold different certificates' };
  }
  const trusted = await Promise.all(dirs.map((dir) => readIfPresent(join(dir, CA_FILE))));
  if (trusted.some((pem) => pem !== first.certificatePem)) return { problem: `${CA_FILE} is not the shared certificate` };
  // Not checkIssued(): OpenSSL wants keyCertSign on an issuer, and this leaf-like
  // certificate has none; a trust anchor is trusted as-is, its own signature is enough.
  const self = first.certificate;
  if (self.subject !== self.issuer || !self.verify(self.publicKey)) return { problem: 'not self-signed' };
  const problem = commonReasons(self, shared, options.key, now, options.days, undefined);
  return problem === undefined ? { kept: first } : { problem };
}

// ---- shared by both methods ----

/** Re-issue reasons that do not depend on the method. */
function commonReasons(
  cert: X509Certificate,
  leaf: LeafSpec,
  wanted: KeySpec,
  now: Date,
  validityDays: number,
  caValidTo: Date | undefined,
): string | undefined {
  const issuedNames = namesFromSubjectAltName(cert.subjectAltName);
  if (!sameNames(issuedNames, leaf.names)) {
    return `issued for ${issuedNames.map(formatSubjectName).join(', ') || 'no names'}, not ${leaf.names.map(formatSubjectName).join(', ')}`;
  }
  if (!cert.subject.split('\n').includes(`CN=${leaf.commonName}`)) return `issued for ${cert.subject.trim()}, not CN=${leaf.commonName}`;
  if (cert.validFromDate > now) return 'not valid yet';
  const [has, asked] = [keyKind(cert.publicKey), describeKeySpec(wanted)];
  if (has !== asked) return `its key is ${has}, not ${asked}`;
  const renewBefore = renewalWindowMs(validityDays);
  const expiresSoon = cert.validToDate.getTime() - now.getTime() < renewBefore;
  // A leaf can never outlast its CA: re-issuing then would not buy any time.
  const couldLastLonger = caValidTo === undefined || cert.validToDate < caValidTo;
  if (expiresSoon && couldLastLonger) return `expires ${cert.validToDate.toISOString()}, within ${Math.round(renewBefore / DAY_MS)} days`;
  return undefined;
}

async function readLeaf(dir: string): Promise<{ pair: KeyPair } | { problem: string }> {
  try {
    return { pair: await readKeyPair(dir, CERTIFICATE_FILE, KEY_FILE) };
  } catch (error) {
    if (error instanceof TlsMaterialError) return { problem: `${error.file.slice(dir.length + 1)} ${error.problem}` };
    throw error;
  }
}

async function writeIfChanged(path: string, data: string, mode: number): Promise<boolean> {
  if ((await readIfPresent(path)) === data) return false;
  await writeFileAtomic(path, data, mode);
  return true;
}

function unionOfNames(a: readonly SubjectName[], b: readonly SubjectName[]): SubjectName[] {
  const seen = new Set(a.map(formatSubjectName));
  return [...a, ...b.filter((name) => !seen.has(formatSubjectName(name)))];
}
