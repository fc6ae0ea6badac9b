import { formatSubjectName } from '../../core/names.ts';
import { CsrError, parseCsr, type ParsedCsr } from '../../core/x509.ts';
import type { CaDatabase } from './database.ts';
import { Refusal } from './errors.ts';
import { keyFingerprint256 } from '../../core/key-fingerprint.ts';

/** A verified CSR and the fingerprint of the key it brings (computed once per request). */
export interface CsrInput {
  csr: ParsedCsr;
  keyFingerprint256: string;
}

/** The `csr` field of a request, parsed and its signature verified; a refusal naming what is wrong otherwise. */
export function csrFrom(body: Record<string, unknown>): CsrInput {
  const pem = body['csr'];
  if (typeof pem !== 'string' || pem.trim() === '') {
    throw new Refusal('CSR_INVALID', 'the body needs "csr": a PEM CERTIFICATE REQUEST');
  }
  let csr: ParsedCsr;
  try {
    csr = parseCsr(pem);
  } catch (error) {
    if (error instanceof CsrError) throw new Refusal('CSR_INVALID', error.message);
    throw error;
  }
  return { csr, keyFingerprint256: keyFingerprint256(csr.publicKey) };
}

/** Every certificate gets a key never certified before: a key that leaked with an old certificate stays dead. */
export function refuseKnownKey(db: CaDatabase, input: CsrInput, identity: string): void {
  if (db.keyCertified(input.keyFingerprint256)) {
    throw new Refusal('KEY_REUSED', 'the CSR carries a public key this CA has already certified: generate a new key', { identity, requested: requested(input.csr) });
  }
}

/** What the CSR asked for, for the log line: the CA ignores it, an operator may want to see it. */
export function requested(csr: ParsedCsr): { commonName: string | undefined; names: string[]; key: string } {
  return { commonName: csr.commonName, names: csr.names.map(formatSubjectName), key: csr.keyDescription };
}
