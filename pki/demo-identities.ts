// The failure demo's material: one client folder per way mTLS can refuse a
// connection. Only issued on request (--with-demo-identities), and kept apart
// from the real identities: the second CAs exist only in memory while their
// certificates are made; their keys are never written anywhere.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { summarizeCertificate } from '../services/shared/certificate.ts';
import { parseSubjectNames, type SubjectName } from '../services/shared/names.ts';
import { CA_FILE, CERTIFICATE_FILE, isIssuedBy, KEY_FILE, readKeyPair, readTrust, type KeyPair } from '../services/shared/tls-material.ts';
import {
  clampTo,
  commonNameOf,
  createCaCertificate,
  createCsr,
  issueFromCsr,
  validity,
  type Issuer,
  type Profile,
  type Validity,
} from './certificates.ts';
import { DEMO_SCENARIOS, type DemoScenario } from './demo-folders.ts';
import { CERTIFICATE_MODE, ensureDirectory, writeFileAtomic, writeIdentity } from './files.ts';
import type { Outcome } from './issue.ts';
import { generateKey } from './keys.ts';
import type { PkiOptions } from './options.ts';

const DAY_MS = 86_400_000;

/** What a scenario's client presents, and whom it trusts. */
interface DemoSpec {
  /** Why the connection will be refused, for the report. */
  purpose: string;
  presents?: {
    signer: 'ca' | 'rogue-ca';
    commonName: string;
    names: SubjectName[];
    profile: Profile;
    /** Whether the certificate is meant to be expired. */
    expired?: true;
  };
  trusts: 'ca' | 'other-ca';
}

// Only the two certificates that must be refused for who they are carry the real
// client's name (rogue-ca, expired: nobody trusts them). Every certificate our CA
// signs validly gets a name of its own that no server dials and no ALLOWED_CLIENTS
// lists, so a demo volume never holds a working server or client identity.
function specs(options: PkiOptions): Record<DemoScenario, DemoSpec> {
  const client = { commonName: commonNameOf(options.clientNames, 'client'), names: options.clientNames, profile: 'client' as const };
  const ownName = (name: string) => ({ commonName: name, names: parseSubjectNames(name) });
  return {
    'no-cert': { purpose: 'trusts the CA, presents nothing', trusts: 'ca' },
    'rogue-ca': { purpose: `signed by a second CA also named CN=${options.caName}`, presents: { signer: 'rogue-ca', ...client }, trusts: 'ca' },
    expired: { purpose: 'signed by our CA, expired yesterday', presents: { signer: 'ca', ...client, expired: true }, trusts: 'ca' },
    'wrong-usage': {
      purpose: 'a server certificate (serverAuth only), for a name nobody dials',
      presents: { signer: 'ca', ...ownName('demo-wrong-usage'), profile: 'server' },
      trusts: 'ca',
    },
    'not-allowed': {
      purpose: 'valid, for an identity outside ALLOWED_CLIENTS',
      presents: { signer: 'ca', ...ownName('intruder'), profile: 'client' },
      trusts: 'ca',
    },
    'wrong-name': {
      purpose: 'a valid client, dialling a name not in the server certificate',
      presents: { signer: 'ca', ...ownName('demo-wrong-name'), profile: 'client' },
      trusts: 'ca',
    },
    'untrusted-server': {
      purpose: 'a valid client whose ca.crt is another CA',
      presents: { signer: 'ca', ...ownName('demo-untrusted-server'), profile: 'client' },
      trusts: 'other-ca',
    },
  };
}

export async function ensureDemoIdentities(options: PkiOptions, ca: KeyPair, now: Date, newCa: boolean): Promise<Outcome[]> {
  const all = specs(options);
  // Made at most once per run, and only if some folder needs them.
  let rogue: Promise<Issuer> | undefined;
  let other: Promise<Issuer> | undefined;
  const rogueCa = () => (rogue ??= makeCa(options.caName, options, now));
  const otherCa = () => (other ??= makeCa('otherCA', options, now));
  return Promise.all(
    DEMO_SCENARIOS.map(async (scenario) => {
      const spec = all[scenario];
      const dir = join(options.out, `demo-${scenario}`);
      const problem = newCa ? (options.force ? '--force' : 'new CA') : await staleReason(dir, spec, ca, now);
      if (problem === undefined) {
        const presented = spec.presents === undefined ? undefined : (await readKeyPair(dir, CERTIFICATE_FILE, KEY_FILE)).certificate;
        return outcome(scenario, 'reused', spec, presented, 'kept');
      }
      const trustPem = spec.trusts === 'ca' ? ca.certificatePem : (await otherCa()).certificatePem;
      if (spec.presents === undefined) {
        await ensureDirectory(dir, 0o755);
        // The folder may be a volume (it cannot be removed); empty it of what this client must not have.
        await Promise.all([CERTIFICATE_FILE, KEY_FILE].map((name) => rm(join(dir, name), { force: true })));
        await writeFileAtomic(join(dir, CA_FILE), trustPem, CERTIFICATE_MODE);
        return outcome(scenario, 'issued', spec, undefined, problem);
      }
      const { signer, commonName, names, profile, expired } = spec.presents;
      const issuer = signer === 'ca' ? { certificatePem: ca.certificatePem, key: ca.key } : await rogueCa();
      const key = await generateKey(options.key);
      const range: Validity = expired
        ? { notBefore: new Date(now.getTime() - 31 * DAY_MS), notAfter: new Date(now.getTime() - DAY_MS) }
        : clampTo(validity(now, options.leafDays), new X509Certificate(issuer.certificatePem).validToDate);
      const certificatePem = issueFromCsr(createCsr(commonName, names, key), profile, issuer, range, { commonName, names });
      await writeIdentity(dir, key, certificatePem, trustPem);
      return outcome(scenario, 'issued', spec, new X509Certificate(certificatePem), problem);
    }),
  );
}

function outcome(scenario: DemoScenario, action: Outcome['action'], spec: DemoSpec, presented: X509Certificate | undefined, why: string): Outcome {
  return {
    identity: `demo-${scenario}`,
    action,
    reason: `${why}; ${spec.purpose}`,
    certificate: presented === undefined ? undefined : summarizeCertificate(presented),
  };
}

/** Why a demo folder must be made again, or undefined when it still shows what it should. */
async function staleReason(dir: string, spec: DemoSpec, ca: KeyPair, now: Date): Promise<string | undefined> {
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
async function makeCa(commonName: string, options: PkiOptions, now: Date): Promise<Issuer> {
  const key: KeyObject = await generateKey(options.key);
  return { certificatePem: createCaCertificate(commonName, key, validity(now, options.days)), key };
}
