import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCaCertificate, createCsr, DAY_MS, issueFromCsr, type Issuer, type Profile, type Validity } from '../../pki/certificates.ts';
import { runPki } from '../../pki/issue.ts';
import { generateKey, privateKeyToPem } from '../../core/key-types.ts';
import { resolvePkiOptions, type PkiOptionsInit } from '../../pki/options.ts';
import { parseSubjectNames } from '../../core/names.ts';
import { openssl, temporaryDirectory } from './processes.ts';


/** Material from the project's own PKI, in a fresh temporary directory. */
export async function issue(method: 'method1' | 'method2', init: Omit<PkiOptionsInit, 'method' | 'out'> = {}): Promise<string> {
  const out = join(await temporaryDirectory('mtls-material-'), method);
  await runPki(resolvePkiOptions({ ...init, method, out }));
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

/**
 * The same folder, but signed by the openssl CLI, which signs what our builder
 * refuses to (a leaf as the issuer, a 1024-bit key), as an attacker's tools
 * would. Validity: 30 days from now.
 */
export async function identityByOpenssl(spec: Omit<IdentitySpec, 'validity'> & { key?: KeyObject }): Promise<string> {
  const dir = await temporaryDirectory('mtls-identity-');
  const work = await temporaryDirectory('mtls-openssl-');
  const key = spec.key ?? (await generateKey({ type: 'rsa' }));
  const file = (name: string) => join(work, name);
  await writeFile(file('leaf.key'), privateKeyToPem(key), { mode: 0o600 });
  await writeFile(file('issuer.crt'), spec.issuer.certificatePem);
  await writeFile(file('issuer.key'), privateKeyToPem(spec.issuer.key), { mode: 0o600 });
  const eku = (spec.profile ?? 'client') === 'server' ? 'serverAuth' : 'clientAuth';
  const san = parseSubjectNames(spec.names ?? 'client').map((name) => `${name.type === 'dns' ? 'DNS' : 'IP'}:${name.value}`).join(',');
  await writeFile(file('leaf.ext'), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${eku}\nsubjectAltName=${san}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
  const digest = spec.issuer.key.asymmetricKeyType === 'ed25519' ? [] : ['-sha256'];
  for (const args of [
    ['req', '-new', '-key', file('leaf.key'), '-subj', `/CN=${spec.commonName ?? 'client'}`, '-out', file('leaf.csr')],
    ['x509', '-req', '-in', file('leaf.csr'), '-CA', file('issuer.crt'), '-CAkey', file('issuer.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-days', '30', ...digest, '-extfile', file('leaf.ext'), '-out', file('leaf.crt')],
  ]) {
    const result = await openssl(...args);
    if (result.code !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
  }
  await writeFile(join(dir, 'tls.crt'), [await readFile(file('leaf.crt'), 'utf8'), ...(spec.chain ?? [])].join(''));
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
  return { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + days * DAY_MS) };
}

export function expiredSince(days: number): Validity {
  return { notBefore: new Date(Date.now() - (days + 30) * DAY_MS), notAfter: new Date(Date.now() - days * DAY_MS) };
}

export function validFromIn(days: number): Validity {
  return { notBefore: new Date(Date.now() + days * DAY_MS), notAfter: new Date(Date.now() + (days + 30) * DAY_MS) };
}
