import type { CertificateSummary } from '../core/certificate.ts';
import type { PkiOptions } from './options.ts';

/** One folder's fate in this run. */
export interface Outcome {
  identity: string;
  action: 'issued' | 'kept';
  reason: string;
  /** What the folder presents; undefined for a folder that presents nothing (it only trusts). */
  certificate: CertificateSummary | undefined;
}

export interface PkiResult {
  options: PkiOptions;
  outcomes: Outcome[];
}
