// The failure demo's CRL: method1's CA revokes the demo identity of each
// scenario that presents a revoked certificate, and the server's folder
// carries the CRL (crl.pem), which the server loads into TLS.
//
// nextUpdate: a one-shot PKI is not online to re-sign a CRL every few minutes,
// and a server refuses every client once its CRL is past nextUpdate. So the
// CRL lives exactly as long as the server certificate next to it: whatever
// re-issues that certificate (a rerun after it expired, --force) also runs
// this step, and a plain method1 run (no demo identities) removes a crl.pem
// that would go stale before the certificate, or that another CA signed.
import { X509Certificate } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SCENARIOS } from '../demo/scenarios.ts';
import { normalizeSerial } from '../core/certificate.ts';
import { issueCrl, parseCrls } from '../core/crl.ts';
import { CERTIFICATE_FILE, KEY_FILE, readKeyPair, type KeyPair } from '../core/tls-material.ts';
import { demoFolder } from './demo-folders.ts';
import { writeFileAtomic } from '../core/files.ts';
import { CERTIFICATE_MODE } from '../core/new-file.ts';

export const CRL_FILE = 'crl.pem';
// Like the certificates: a server whose clock lags must not see a CRL from the future.
const BACKDATE_MS = 5 * 60_000;

/** Writes server/crl.pem listing every revoked demo identity; returns what the server's report line adds. */
export async function writeDemoCrl(out: string, ca: KeyPair, now: Date): Promise<string> {
  const revoked = [];
  for (const scenario of SCENARIOS.filter((entry) => entry.material.presents?.revoked === true)) {
    const { certificate } = await readKeyPair(join(out, demoFolder(scenario.id)), CERTIFICATE_FILE, KEY_FILE);
    revoked.push({ serialNumber: certificate.serialNumber, revokedAt: now, reason: 'keyCompromise' as const, folder: demoFolder(scenario.id) });
  }
  const server = await serverCertificate(out);
  const nextUpdate = new Date(Math.min(server.validToDate.getTime(), ca.certificate.validToDate.getTime()));
  const file = join(out, 'server', CRL_FILE);
  const listing = `${CRL_FILE} revokes ${revoked.map((entry) => `${entry.folder} (serial ${entry.serialNumber})`).join(', ') || 'nothing'}, valid until ${nextUpdate.toISOString()} (the server certificate's end)`;
  if (await stillRight(file, ca, revoked.map((entry) => entry.serialNumber), nextUpdate)) return `${listing}: kept`;
  const pem = issueCrl({
    issuer: { certificate: ca.certificate, key: ca.key },
    // Seconds since the epoch: every rerun's CRL is numbered above the last one.
    number: BigInt(Math.floor(now.getTime() / 1000)),
    thisUpdate: new Date(now.getTime() - BACKDATE_MS),
    nextUpdate,
    revoked,
  });
  await writeFileAtomic(file, pem, CERTIFICATE_MODE);
  return listing;
}

/** A rerun keeps a crl.pem that this CA signed for exactly these serials, valid as long as the server certificate. */
async function stillRight(file: string, ca: KeyPair, serials: string[], nextUpdate: Date): Promise<boolean> {
  try {
    const [crl, ...more] = parseCrls(await readFile(file, 'utf8'));
    if (crl === undefined || more.length > 0 || !crl.isSignedBy(ca.certificate)) return false;
    const wanted = new Set(serials.map(normalizeSerial));
    const same = wanted.size === crl.revokedSerials.size && [...wanted].every((serial) => crl.revokedSerials.has(serial));
    return same && Math.floor(nextUpdate.getTime() / 1000) * 1000 === crl.nextUpdate?.getTime();
  } catch {
    return false;
  }
}

/** A plain method1 run: removes a server/crl.pem the server would refuse (another CA's) or that goes stale before the certificate beside it. */
export async function removeUnusableCrl(out: string, ca: KeyPair): Promise<string | undefined> {
  const file = join(out, 'server', CRL_FILE);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const why = await unusable(pem, ca, await serverCertificate(out));
  if (why === undefined) return undefined;
  await rm(file, { force: true });
  return `${CRL_FILE} removed (${why}; the failures profile writes a new one)`;
}

async function unusable(pem: string, ca: KeyPair, server: X509Certificate): Promise<string | undefined> {
  try {
    const crls = parseCrls(pem);
    if (!crls.every((crl) => crl.isSignedBy(ca.certificate))) return 'signed by another CA';
    if (crls.some((crl) => crl.nextUpdate === undefined || crl.nextUpdate < server.validToDate)) return 'it would go stale before the server certificate';
    return undefined;
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  }
}

async function serverCertificate(out: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(join(out, 'server', CERTIFICATE_FILE), 'utf8'));
}
