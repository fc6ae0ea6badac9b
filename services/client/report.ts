import type { ClientMaterial } from './material.ts';
import type { ClientConfig } from './config.ts';
import type { Exchange } from './exchange.ts';
import { excerpt, printable } from './printable.ts';

/** How much of the body a person sees; the JSON output carries all of it. */
const SHOWN_BODY_CHARS = 200;

/**
 * What happened, in a few lines a person can read; the last line is the
 * verdict. Everything the server chose (certificate fields, status message,
 * body) is escaped, so it cannot fake a line of its own.
 */
export function formatExchange(config: ClientConfig, material: ClientMaterial, warnings: string[], result: Exchange): string {
  const lines: string[] = [];
  const us = material.certificate === undefined ? 'no client certificate' : material.certificate.subject.trim();
  lines.push(`client:  ${config.url.href} as ${us}, trusting ${material.ca.map((ca) => ca.subject.trim()).join(', ')}`);
  for (const warning of warnings) lines.push(`warning: our tls.crt is ${warning}; the server will likely refuse it`);
  if (result.attempts > 1) lines.push(`retry:   reached the server after ${result.attempts} attempts`);
  if (result.connection !== undefined) lines.push(`conn:    ${result.connection.local} → ${result.connection.remote}`);
  if (result.server !== undefined) {
    const server = result.server;
    lines.push(`server:  ${printable(server.subject)} · issuer ${printable(server.issuer)} · ${printable(server.subjectAltNames.join(', '))}`);
    lines.push(`         SHA-256 ${server.fingerprint256}`);
  }
  if (result.protocol !== undefined) lines.push(`tls:     ${result.protocol} ${result.cipher ?? ''}`.trimEnd());
  if (result.status !== undefined) lines.push(`http:    ${result.status} ${printable(result.statusMessage ?? '')}`.trimEnd());
  if (result.body !== undefined && result.body.trim() !== '') lines.push(`body:    ${formatBody(result.body.trim())}`);
  lines.push(
    result.failure === undefined
      ? 'result:  OK (mutual TLS: both sides verified)'
      : `result:  FAILED ${result.failure.code}: ${result.failure.message}`,
  );
  return lines.join('\n');
}

function formatBody(body: string): string {
  const shown = excerpt(body, SHOWN_BODY_CHARS);
  if (!shown.endsWith('…')) return shown;
  return `${shown} (${Buffer.byteLength(body)} bytes; the first ${SHOWN_BODY_CHARS} characters shown)`;
}
