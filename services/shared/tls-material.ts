import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allowsPurpose, CLIENT_AUTH, SERVER_AUTH } from './certificate.ts';

// Both sides read the same layout (Kubernetes TLS secret names), whichever
// method issued it: tls.crt + tls.key to present, ca.crt to trust.
export const CERTIFICATE_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';
export const CA_FILE = 'ca.crt';

/** A certificate and the private key that belongs to it. */
export interface KeyPair {
  certificatePem: string;
  keyPem: string;
  certificate: X509Certificate;
  key: KeyObject;
}

/** What one side trusts: the certificates in ca.crt. */
export interface Trust {
  dir: string;
  caPem: string;
  ca: X509Certificate[];
}

/** What one side of an mTLS connection needs: its identity and what it trusts. */
export interface TlsMaterial extends Trust, KeyPair {}

/** Material that cannot be used; `file` names the culprit, `message` says what is wrong. */
export class TlsMaterialError extends Error {
  readonly code = 'ETLSMATERIAL';
  readonly file: string;
  readonly problem: string;

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.file = file;
    this.problem = problem;
  }
}

export type Role = 'server' | 'client';
const PURPOSE: Record<Role, { oid: string; name: string }> = {
  server: { oid: SERVER_AUTH, name: 'serverAuth' },
  client: { oid: CLIENT_AUTH, name: 'clientAuth' },
};

/**
 * Loads DIR/{tls.crt,tls.key,ca.crt} and checks that they can work: every file
 * is PEM, the key matches the certificate, the certificate is valid now and
 * allowed for this role. Throws TlsMaterialError naming the file otherwise.
 */
export async function loadTlsMaterial(dir: string, role: Role, now = new Date()): Promise<TlsMaterial> {
  const material = await readTlsMaterial(dir);
  const [problem] = certificateProblems(material.certificate, role, now);
  if (problem !== undefined) throw new TlsMaterialError(join(dir, CERTIFICATE_FILE), problem);
  return material;
}

/** Reads and parses DIR/{tls.crt,tls.key,ca.crt}, checking only that they parse and the key matches. */
export async function readTlsMaterial(dir: string): Promise<TlsMaterial> {
  const pair = await readKeyPair(dir, CERTIFICATE_FILE, KEY_FILE);
  return { ...(await readTrust(dir)), ...pair };
}

/** Reads DIR/ca.crt alone: what a side trusts. */
export async function readTrust(dir: string): Promise<Trust> {
  const caFile = join(dir, CA_FILE);
  const caPem = await readPem(caFile);
  return { dir, caPem, ca: parseCertificates(caFile, caPem) };
}

/** Why a peer would refuse this certificate for this role: not valid now, or the wrong extended key usage. */
export function certificateProblems(cert: X509Certificate, role: Role, now = new Date()): string[] {
  const problems: string[] = [];
  if (now < cert.validFromDate) problems.push(`not valid yet (valid from ${cert.validFromDate.toISOString()})`);
  if (now > cert.validToDate) problems.push(`expired on ${cert.validToDate.toISOString()}`);
  const purpose = PURPOSE[role];
  if (!allowsPurpose(cert, purpose.oid)) {
    problems.push(`not usable as a ${role} certificate: its extended key usage lacks ${purpose.name}`);
  }
  return problems;
}

/** Reads a certificate and its key from `dir`, checking both parse and belong together. */
export async function readKeyPair(dir: string, certificateName: string, keyName: string): Promise<KeyPair> {
  const certificateFile = join(dir, certificateName);
  const keyFile = join(dir, keyName);
  const certificatePem = await readPem(certificateFile);
  const keyPem = await readPem(keyFile);
  const [certificate] = parseCertificates(certificateFile, certificatePem);
  const key = parsePrivateKey(keyFile, keyPem);
  if (certificate === undefined) throw new TlsMaterialError(certificateFile, 'holds no certificate');
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsMaterialError(keyFile, `does not match the certificate in ${certificateName}`);
  }
  return { certificatePem, keyPem, certificate, key };
}

async function readPem(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TlsMaterialError(file, code === 'ENOENT' ? 'missing' : `cannot be read (${code})`);
  }
  if (!text.includes('-----BEGIN ')) throw new TlsMaterialError(file, 'not PEM (no "-----BEGIN" line)');
  return text;
}

/** Every certificate in a PEM bundle (a ca.crt may hold several). */
export function parseCertificates(file: string, pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError(file, 'holds no PEM certificate');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new TlsMaterialError(file, 'holds a PEM block that is not a valid certificate');
    }
  });
}

function parsePrivateKey(file: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new TlsMaterialError(file, 'not a valid PEM private key');
  }
}

/** Whether `cert` was signed by `issuer`: names and key identifiers line up, and the signature verifies. */
export function isIssuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}
