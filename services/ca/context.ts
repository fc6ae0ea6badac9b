import type { Authority } from './authority.ts';
import type { CrlPublisher } from './crl-publisher.ts';
import type { CaDatabase } from './database.ts';

/** What the request handlers work with: the CA, its inventory, its policy and its clock. */
export interface CaContext {
  authority: Authority;
  db: CaDatabase;
  /** Lifetime of issued certificates, already capped. */
  certTtlMs: number;
  /** The CRL served at /crl.pem, signed anew at every revocation. */
  crl: CrlPublisher;
  now: () => Date;
}

/** A successful enrollment or renewal, as the API returns it. */
export interface IssuedResponse {
  certificate: string;
  ca: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}
