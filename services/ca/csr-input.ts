import { formatSubjectName } from '../shared/names.ts';
import { CsrError, parseCsr, type ParsedCsr } from '../shared/x509.ts';
import { Refusal } from './errors.ts';

/** The `csr` field of a request, parsed and its signature verified; a refusal naming what is wrong otherwise. */
export function csrFrom(body: Record<string, unknown>): ParsedCsr {
  const pem = body['csr'];
  if (typeof pem !== 'string' || pem.trim() === '') {
    throw new Refusal('CSR_INVALID', 'the body needs "csr": a PEM CERTIFICATE REQUEST');
  }
  try {
    return parseCsr(pem);
  } catch (error) {
    if (error instanceof CsrError) throw new Refusal('CSR_INVALID', error.message);
    throw error;
  }
}

/** What the CSR asked for, for the log line: the CA ignores it, an operator may want to see it. */
export function requested(csr: ParsedCsr): { commonName: string | undefined; names: string[]; key: string } {
  return { commonName: csr.commonName, names: csr.names.map(formatSubjectName), key: csr.keyDescription };
}
