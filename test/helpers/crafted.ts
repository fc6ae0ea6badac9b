// Certificates our PKI would never issue (several CNs, URI SANs, no SAN at all),
// made with the openssl command under our CA: what an attacker holding a
// certificate from a careless CA would present.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openssl, temporaryDirectory } from './processes.ts';

export interface CraftedSpec {
  /** The CA folder of a method1 tree (ca.crt and ca.key). */
  caDir: string;
  /** An openssl -subj string, e.g. "/CN=client/CN=evil". */
  subject: string;
  /** An openssl subjectAltName value, e.g. "DNS:evil.example,URI:client"; none when absent. */
  subjectAltName?: string;
  /** What the certificate is for (its extended key usage); a client by default. */
  purpose?: 'clientAuth' | 'serverAuth';
}

/** A tls.crt/tls.key/ca.crt folder for a P-256 key signed by the CA in caDir. */
export async function craftedClient(spec: CraftedSpec): Promise<string> {
  const dir = await temporaryDirectory('mtls-crafted-');
  const extensions = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${spec.purpose ?? 'clientAuth'}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    ...(spec.subjectAltName === undefined ? [] : [`subjectAltName = ${spec.subjectAltName}`]),
  ];
  await writeFile(join(dir, 'ext.cnf'), `[leaf]\n${extensions.join('\n')}\n`);
  await check(openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', join(dir, 'tls.key'), '-subj', spec.subject, '-out', join(dir, 'csr.pem')));
  await check(openssl('x509', '-req', '-in', join(dir, 'csr.pem'), '-CA', join(spec.caDir, 'ca.crt'), '-CAkey', join(spec.caDir, 'ca.key'),
    '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`, '-days', '2', '-sha256',
    '-extfile', join(dir, 'ext.cnf'), '-extensions', 'leaf', '-out', join(dir, 'tls.crt')));
  await check(openssl('x509', '-in', join(spec.caDir, 'ca.crt'), '-out', join(dir, 'ca.crt')));
  return dir;
}

async function check(result: Promise<{ code: number | null; stderr: string }>): Promise<void> {
  const { code, stderr } = await result;
  if (code !== 0) throw new Error(`openssl failed: ${stderr}`);
}
