import https from 'node:https';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import got from 'got';
import { writeFileAtomic } from '../../core/files.ts';
import { CrlError, parseCrls, type ParsedCrl } from '../../core/crl.ts';
import type { Emit } from '../../core/json-lines.ts';
import { readTrust, TlsMaterialError, type Trust } from '../../core/tls-material.ts';
import { CaError } from './ca-client.ts';

export const CRL_FILE = 'crl.pem';

export interface CrlFetchConfig {
  tlsDir: string;
  bootstrapDir: string;
  caUrl: URL;
  identity: string;
  timeoutMs: number;
  /** How often to fetch: well under the CRL's lifetime, so that a few misses do not let it go stale. */
  intervalMs: number;
}

export interface CrlFetchDeps {
  emit: Emit;
  now(): Date;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** GET /crl.pem from the CA, trusting `trustPem` for its TLS certificate. */
  fetchCrl(trustPem: string): Promise<string>;
}

/**
 * Keeps TLS_DIR/crl.pem current until `signal` aborts: every interval, the
 * CA's CRL, checked (signed by the CA we trust, current, not older than the
 * one in place), then swapped in with one rename, which the server's watch
 * sees. When the CA is away it keeps trying, and says how long the CRL in
 * place still lasts: after its nextUpdate the server refuses every client.
 */
export async function runCrlFetcher(config: CrlFetchConfig, deps: CrlFetchDeps, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const held = await heldCrls(config.tlsDir);
    try {
      const trust = await trustOf(config);
      const pem = await deps.fetchCrl(trust.caPem);
      const crls = checkFetched(pem, trust, held, deps.now());
      if (pem !== held?.pem) {
        await writeFileAtomic(join(config.tlsDir, CRL_FILE), pem, 0o644);
        deps.emit('crl_updated', { identity: config.identity, ...describe(crls) });
      }
    } catch (error) {
      if (!(error instanceof CaError || error instanceof CrlError || error instanceof TlsMaterialError)) throw error;
      const nextUpdate = held === undefined ? undefined : earliestNextUpdate(held.crls);
      deps.emit('crl_fetch_failed', {
        identity: config.identity,
        code: (error as { code: string }).code,
        message: error.message,
        retryInMs: config.intervalMs,
        held: nextUpdate === undefined ? null : { nextUpdate: nextUpdate.toISOString(), leftMs: Math.max(0, nextUpdate.getTime() - deps.now().getTime()) },
      });
    }
    await deps.sleep(config.intervalMs, signal);
  }
}

/** The CA certificate the workload trusts now, or the bootstrap one before the first enrollment. */
async function trustOf(config: CrlFetchConfig): Promise<Trust> {
  try {
    return await readTrust(config.tlsDir);
  } catch {
    return readTrust(config.bootstrapDir);
  }
}

/** What a CRL must be before it replaces the one in place: the server would refuse it otherwise, and keep the old one. */
function checkFetched(pem: string, trust: Trust, held: { crls: ParsedCrl[] } | undefined, now: Date): ParsedCrl[] {
  const crls = parseCrls(pem);
  for (const crl of crls) {
    const signer = trust.ca.find((ca) => crl.isSignedBy(ca));
    if (signer === undefined) throw new CrlError('the CA served a CRL signed by none of the CAs this agent trusts');
    if (crl.nextUpdate === undefined || crl.nextUpdate <= now) throw new CrlError(`the CA served a stale CRL (nextUpdate ${crl.nextUpdate?.toISOString() ?? 'absent'})`);
    const previous = held?.crls.find((candidate) => candidate.isSignedBy(signer));
    if (previous?.number !== undefined && crl.number !== undefined && crl.number < previous.number) {
      throw new CrlError(`the CA served an older CRL (number ${crl.number} < ${previous.number} in place)`);
    }
  }
  return crls;
}

async function heldCrls(tlsDir: string): Promise<{ pem: string; crls: ParsedCrl[] } | undefined> {
  try {
    const pem = await readFile(join(tlsDir, CRL_FILE), 'utf8');
    return { pem, crls: parseCrls(pem) };
  } catch {
    return undefined; // none yet, or unreadable: the next good one replaces it
  }
}

function earliestNextUpdate(crls: ParsedCrl[]): Date | undefined {
  const times = crls.flatMap((crl) => (crl.nextUpdate === undefined ? [] : [crl.nextUpdate.getTime()]));
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

function describe(crls: ParsedCrl[]): Record<string, unknown> {
  return {
    crls: crls.map((crl) => ({ number: crl.number?.toString() ?? null, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null, revoked: crl.revokedSerials.size })),
  };
}

/** GET /crl.pem over TLS (no client certificate: the CRL is public), no retries (the loop decides). */
export async function fetchCrl(ca: { url: URL; timeoutMs: number }, trustPem: string): Promise<string> {
  const agent = new https.Agent({ keepAlive: false });
  try {
    const response = await got(new URL('crl.pem', ca.url), {
      agent: { https: agent },
      https: { certificateAuthority: trustPem, minVersion: 'TLSv1.2' },
      timeout: { request: ca.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'text',
    });
    if (response.statusCode !== 200) throw new CaError(`HTTP_${response.statusCode}`, `the CA answered ${response.statusCode} for /crl.pem`, response.statusCode);
    return response.body;
  } catch (error) {
    if (error instanceof CaError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'UNREACHABLE';
    throw new CaError(code, `cannot reach the CA at ${ca.url.origin}: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    agent.destroy();
  }
}
