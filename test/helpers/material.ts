import { createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCaCertificate, createCsr, issueFromCsr, type Issuer, type Profile, type Validity } from '../../pki/certificates.ts';
import { runPki } from '../../pki/issue.ts';
import { generateKey, privateKeyToPem } from '../../pki/keys.ts';
import { parsePkiOptions } from '../../pki/options.ts';
import { parseSubjectNames } from '../../services/shared/names.ts';
import { temporaryDirectory } from './processes.ts';

const DAY = 86_400_000;

/** Material from the project's own PKI, in a fresh temporary directory. */
export async function issue(method: 'method1' | 'method2', ...extra: string[]): Promise<string> {
  const out = join(await temporaryDirectory('mtls-material-'), method);
  const options = parsePkiOptions(['--method', method, '--out', out, ...extra]);
  if (options === undefined) throw new Error('unreachable: --help was not given');
  await runPki(options);
  return out;
}

/** The CA of a method1 tree, as an issuer for odd test certificates. */
export async function caOf(out: string): Promise<Issuer> {
  return {
    certificatePem: await readFile(join(out, 'ca', 'ca.crt'), 'utf8'),
    key: createPrivateKey(await readFile(join(out, 'ca', 'ca.key'))),
  };
}

/** Another CA whose subject name is exactly ours: only its key tells it apart. */
export async function rogueCa(commonName = 'selfCA'): Promise<Issuer> {
  const key = await generateKey({ type: 'rsa' });
  return { certificatePem: createCaCertificate(commonName, key, validFor(365)), key };
}

export interface IdentitySpec {
  issuer: Issuer;
  commonName?: string;
  names?: string;
  profile?: Profile;
  validity?: Validity;
  /** Extra certificates after the leaf in tls.crt (a chain). */
  chain?: string[];
  /** What ca.crt trusts; defaults to the issuer. */
  trust?: string;
}

/** Writes a tls.crt/tls.key/ca.crt folder for an identity made through the usual CSR path. */
export async function identity(spec: IdentitySpec): Promise<string> {
  const dir = await temporaryDirectory('mtls-identity-');
  const key = await generateKey({ type: 'rsa' });
  const names = parseSubjectNames(spec.names ?? 'client');
  const csr = createCsr(spec.commonName ?? 'client', names, key);
  const certificatePem = issueFromCsr(csr, spec.profile ?? 'client', spec.issuer, spec.validity ?? validFor(30), {
    commonName: spec.commonName ?? 'client',
    names,
  });
  await writeFile(join(dir, 'tls.crt'), [certificatePem, ...(spec.chain ?? [])].join(''));
  await writeFile(join(dir, 'tls.key'), privateKeyToPem(key), { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), spec.trust ?? spec.issuer.certificatePem);
  return dir;
}

/** A folder holding only ca.crt: a client that presents no certificate. */
export async function trustOnly(caPem: string): Promise<string> {
  const dir = await temporaryDirectory('mtls-identity-');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ca.crt'), caPem);
  return dir;
}

export function validFor(days: number): Validity {
  return { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + days * DAY) };
}

export function expiredSince(days: number): Validity {
  return { notBefore: new Date(Date.now() - (days + 30) * DAY), notAfter: new Date(Date.now() - days * DAY) };
}

export function validFromIn(days: number): Validity {
  return { notBefore: new Date(Date.now() + days * DAY), notAfter: new Date(Date.now() + (days + 30) * DAY) };
}
