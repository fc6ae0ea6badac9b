// The failure demo's material: one client folder per way mTLS can refuse a
// connection. Only issued on request (--with-demo-identities), and kept apart
// from the real identities: the second CAs exist only in memory while their
// certificates are made; their keys are never written anywhere.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OTHER_CA_NAME, SCENARIOS, type Material, type Scenario } from '../demo/scenarios.ts';
import { summarizeCertificate } from '../core/certificate.ts';
import { parseSubjectNames, type SubjectName } from '../core/names.ts';
import { CA_FILE, CERTIFICATE_FILE, isIssuedBy, KEY_FILE, readKeyPair, readTrust, type KeyPair } from '../core/tls-material.ts';
import { clampTo, commonNameOf, createCaCertificate, createCsr, DAY_MS, issueFromCsr, validity, type Issuer, type Validity } from './certificates.ts';
import { removeUnusableCrl, writeDemoCrl } from './demo-crl.ts';
import { demoFolder } from './demo-folders.ts';
import { ensureDirectory, writeFileAtomic } from '../core/files.ts';
import { CERTIFICATE_MODE } from '../core/new-file.ts';
import { writeIdentity } from './files.ts';
import { CA_KEY_FILE } from '../core/ca-pair.ts';
import { generateKey, type KeySpec } from '../core/x509.ts';
import type { PkiOptions } from './options.ts';
import type { Outcome, PkiResult } from './outcome.ts';

/**
 * The step after method1, on request (--with-demo-identities): one folder
 * per failure scenario, signed by the CA method1 just issued or kept.
 */
export async function withDemoIdentities(result: PkiResult, now: Date): Promise<PkiResult> {
  const { options, outcomes } = result;
  if (options.method !== 'method1') return result;
  const ca = await readKeyPair(join(options.out, 'ca'), CA_FILE, CA_KEY_FILE);
  if (!options.withDemoIdentities) return { options, outcomes: noted(outcomes, await removeUnusableCrl(options.out, ca)) };
  const newCa = outcomes.find(({ identity }) => identity === 'ca')?.action === 'issued';
  const demo = await ensureDemoIdentities(options, ca, now, newCa);
  return { options, outcomes: [...noted(outcomes, await writeDemoCrl(options.out, ca, now)), ...demo] };
}

/** The server's report line, with what happened to its crl.pem. */
function noted(outcomes: Outcome[], note: string | undefined): Outcome[] {
  if (note === undefined) return outcomes;
  return outcomes.map((outcome) => (outcome.identity === 'server' ? { ...outcome, reason: `${outcome.reason}; ${note}` } : outcome));
}

async function ensureDemoIdentities(options: PkiOptions, ca: KeyPair, now: Date, newCa: boolean): Promise<Outcome[]> {
  // Made at most once per run, and only if some folder needs them.
  let rogue: Promise<Issuer> | undefined;
  let other: Promise<Issuer> | undefined;
  const caValidity = validity(now, options.days);
  const rogueCa = () => (rogue ??= makeCa(options.caName, options.key, caValidity));
  const otherCa = () => (other ??= makeCa(OTHER_CA_NAME, options.key, caValidity));
  return Promise.all(
    SCENARIOS.map(async (scenario) => {
      const spec = scenario.material;
      const dir = join(options.out, demoFolder(scenario.id));
      const problem = newCa ? (options.force ? '--force' : 'new CA') : await staleReason(dir, spec, ca, now);
      if (problem === undefined) {
        const presented = spec.presents === undefined ? undefined : (await readKeyPair(dir, CERTIFICATE_FILE, KEY_FILE)).certificate;
        return outcome(scenario, 'kept', presented, 'valid and current');
      }
      const trustPem = spec.trusts === 'ca' ? ca.certificatePem : (await otherCa()).certificatePem;
      if (spec.presents === undefined) {
        await ensureDirectory(dir, 0o755);
        // The folder may be a volume (it cannot be removed); empty it of what this client must not have.
        await Promise.all([CERTIFICATE_FILE, KEY_FILE].map((name) => rm(join(dir, name), { force: true })));
        await writeFileAtomic(join(dir, CA_FILE), trustPem, CERTIFICATE_MODE);
        return outcome(scenario, 'issued', undefined, problem);
      }
      const { signer, profile, expired } = spec.presents;
      const { commonName, names } = identityOf(spec.presents.identity, options);
      const issuer = signer === 'ca' ? { certificatePem: ca.certificatePem, key: ca.key } : await rogueCa();
      const key = await generateKey(options.key);
      const range: Validity = expired
        ? { notBefore: new Date(now.getTime() - 31 * DAY_MS), notAfter: new Date(now.getTime() - DAY_MS) }
        : clampTo(validity(now, options.leafDays), new X509Certificate(issuer.certificatePem).validToDate);
      const certificatePem = issueFromCsr(createCsr(commonName, names, key), profile, issuer, range, { commonName, names });
      await writeIdentity(dir, key, certificatePem, trustPem);
      return outcome(scenario, 'issued', new X509Certificate(certificatePem), problem);
    }),
  );
}

/** The real client's name, or the scenario's own. */
function identityOf(identity: NonNullable<Material['presents']>['identity'], options: PkiOptions): { commonName: string; names: SubjectName[] } {
  if (identity === 'the client') return { commonName: commonNameOf(options.clientNames, 'client'), names: options.clientNames };
  return { commonName: identity.name, names: parseSubjectNames(identity.name) };
}

function outcome(scenario: Scenario, action: Outcome['action'], presented: X509Certificate | undefined, why: string): Outcome {
  return {
    identity: demoFolder(scenario.id),
    action,
    reason: `${why}; ${scenario.material.purpose}`,
    certificate: presented === undefined ? undefined : summarizeCertificate(presented),
  };
}

/** Why a demo folder must be made again, or undefined when it still shows what it should. */
async function staleReason(dir: string, spec: Material, ca: KeyPair, now: Date): Promise<string | undefined> {
  const files = await listing(dir);
  if (!files.includes(CA_FILE)) return 'not there yet';
  try {
    const trust = await readTrust(dir);
    const trustsOurCa = trust.caPem === ca.certificatePem;
    if (trustsOurCa !== (spec.trusts === 'ca')) return `${CA_FILE} trusts the wrong CA`;
    if (spec.presents === undefined) return files.includes(CERTIFICATE_FILE) || files.includes(KEY_FILE) ? 'holds a certificate' : undefined;
    const { certificate } = await readKeyPair(dir, CERTIFICATE_FILE, KEY_FILE);
    const byOurCa = isIssuedBy(certificate, ca.certificate);
    if (byOurCa !== (spec.presents.signer === 'ca')) return spec.presents.signer === 'ca' ? 'not signed by the current CA' : 'signed by the current CA';
    if ((now > certificate.validToDate) !== (spec.presents.expired === true)) return spec.presents.expired ? 'not expired' : 'expired';
    return undefined;
  } catch (error) {
    return `unusable (${(error as Error).message})`;
  }
}

/** The names in a folder; none when it does not exist yet. */
async function listing(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A throwaway CA: its certificate is kept (as a signer's or as a wrong trust anchor), its key is not. */
async function makeCa(commonName: string, spec: KeySpec, range: Validity): Promise<Issuer> {
  const key: KeyObject = await generateKey(spec);
  return { certificatePem: createCaCertificate(commonName, key, range), key };
}
