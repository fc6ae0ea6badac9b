import { summarizeCertificate, type CertificateSummary } from '../../core/certificate.ts';
import type { ClientConfig } from './config.ts';
import type { Diagnosis } from './diagnosis.ts';
import type { Exchange } from './exchange.ts';
import type { ClientMaterial } from './material.ts';
import { printableJson } from './printable.ts';

/** What OUTPUT=json prints: the whole exchange, every field always present (null when unknown). */
export interface ExchangeDocument {
  url: string;
  /** Our own certificate, or null when we present none. */
  presents: CertificateSummary | null;
  /** The subjects of the CAs in our ca.crt. */
  trusts: string[];
  warnings: string[];
  attempts: number;
  connection: { local: string; remote: string } | null;
  server: CertificateSummary | null;
  protocol: string | null;
  cipher: string | null;
  status: number | null;
  statusMessage: string | null;
  location: string | null;
  body: string | null;
  result: 'OK' | 'FAILED';
  failure: Diagnosis | null;
}

/** One line of JSON; a script reads it by key. */
export function formatExchangeJson(config: ClientConfig, material: ClientMaterial, warnings: string[], result: Exchange): string {
  return printableJson(exchangeDocument(config, material, warnings, result));
}

function exchangeDocument(config: ClientConfig, material: ClientMaterial, warnings: string[], result: Exchange): ExchangeDocument {
  return {
    url: config.url.href,
    presents: material.certificate === undefined ? null : summarizeCertificate(material.certificate),
    trusts: material.ca.map((ca) => summarizeCertificate(ca).subject),
    warnings,
    attempts: result.attempts,
    connection: result.connection ?? null,
    server: result.server ?? null,
    protocol: result.protocol ?? null,
    cipher: result.cipher ?? null,
    status: result.status ?? null,
    statusMessage: result.statusMessage ?? null,
    location: result.location ?? null,
    body: result.body ?? null,
    result: result.failure === undefined ? 'OK' : 'FAILED',
    failure: result.failure ?? null,
  };
}
