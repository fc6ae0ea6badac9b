import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { allowsPurpose, CLIENT_AUTH, SERVER_AUTH } from './certificate.ts';
import { MtlsError, type MtlsErrorOptions } from './errors.ts';

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
export class TlsMaterialError extends MtlsError {
  readonly code = 'ETLSMATERIAL';
  readonly file: string;
  readonly problem: string;

  constructor(file: string, problem: string, options?: MtlsErrorOptions) {
    super(`${file}: ${problem}`, options);
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

// Far more than any certificate chain or key: a bigger file is not one of ours.
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * Reads a PEM file through one handle: opened without blocking (a FIFO would
 * otherwise wait for a writer, in a libuv worker that even process.exit()
 * then waits for), checked to be a regular file, and read, capped, through that
 * same handle, so nothing can be swapped in between the check and the read.
 * Symlinks are followed: the Kubernetes layout (tls.crt -> ..data/tls.crt)
 * is made of them, and what counts is the file the handle ends up on.
 */
/** Reads an optional PEM file the way readPem does; undefined when it is not there. */
export async function readOptionalPem(file: string): Promise<string | undefined> {
  try {
    return await readPem(file);
  } catch (error) {
    if (error instanceof TlsMaterialError && error.problem === 'missing') return undefined;
    throw error;
  }
}

async function readPem(file: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TlsMaterialError(file, code === 'ENOENT' ? 'missing' : `cannot be read (${code})`, { cause: error });
  }
  let text: string;
  try {
    const kind = kindOf(await handle.stat());
    if (kind !== undefined) throw new TlsMaterialError(file, `not a regular file (${kind})`);
    const bytes = await readAtMost(handle, MAX_PEM_BYTES);
    if (bytes === undefined) throw new TlsMaterialError(file, 'larger than 1 MiB: not a certificate or key file');
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof TlsMaterialError) throw error;
    throw new TlsMaterialError(file, `cannot be read (${(error as NodeJS.ErrnoException).code})`);
  } finally {
    await handle.close();
  }
  if (!text.includes('-----BEGIN ')) throw new TlsMaterialError(file, 'not PEM (no "-----BEGIN" line)');
  return text;
}

/** What `stats` describes when it is not a regular file. */
function kindOf(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** The whole file, or undefined once it holds more than `limit` bytes (it may grow while being read). */
async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  // Bounded: every pass reads at least one byte, and more than `limit` ends it.
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > limit) return undefined;
    chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
  }
}

/** Every certificate in a PEM bundle (a ca.crt may hold several). */
export function parseCertificates(file: string, pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError(file, 'holds no PEM certificate');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsMaterialError(file, 'holds a PEM block that is not a valid certificate', { cause: error });
    }
  });
}

function parsePrivateKey(file: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new TlsMaterialError(file, 'not a valid PEM private key', { cause: error });
  }
}

/** Whether `cert` was signed by `issuer`: names and key identifiers line up, and the signature verifies. */
export function isIssuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}
