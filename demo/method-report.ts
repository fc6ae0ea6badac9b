// One method's part of `make demo`, from what demo/run.sh gathered into a
// folder: what the PKI issued, what the client saw, what the server logged,
// and PASS (exit 0) when the client verified the server and was served.
//
//   node demo/method-report.ts method1|method2 DIR
import type { ExchangeDocument } from '../services/client/report-json.ts';
import { printable } from '../services/client/printable.ts';
import { describeCertificate, type PkiDocument } from '../pki/report.ts';
import { formatColumns } from './columns.ts';
import { readClientRun, readPkiReport, readServerLog, type ClientRun, type ServerEvent } from './inputs.ts';

/** The PKI's report: per identity, what happened and what it holds. */
export function formatIdentities(pki: PkiDocument | undefined): string[] {
  if (pki === undefined) return ['    (no PKI report)'];
  const rows = pki.identities.map(({ identity, action, certificate }) => [identity, action, certificate === null ? '' : describeCertificate(certificate)]);
  const lines = formatColumns(rows).map((line) => `    ${line}`);
  const [server, client] = ['server', 'client'].map((name) => pki.identities.find(({ identity }) => identity === name)?.certificate?.fingerprint256);
  if (server !== undefined && server === client) lines.push('    (server and client hold the same certificate and key: each trusts exactly it)');
  return lines;
}

/** The client's document, as a few lines a person reads; everything the server chose, escaped. */
export function formatClient(document: ExchangeDocument): string[] {
  const lines = [`client:  ${document.url} as ${document.presents?.subject ?? 'no client certificate'}, trusting ${document.trusts.join(', ')}`];
  const { server, connection } = document;
  if (connection !== null) lines.push(`conn:    ${connection.local} → ${connection.remote}`);
  if (server !== null) {
    lines.push(`server:  ${printable(`${server.subject} · issuer ${server.issuer} · ${server.subjectAltNames.join(', ')}`)}`);
    lines.push(`         SHA-256 ${server.fingerprint256}`);
  }
  if (document.protocol !== null) lines.push(`tls:     ${document.protocol} ${document.cipher ?? ''}`.trimEnd());
  if (document.status !== null) lines.push(`http:    ${document.status} ${printable(document.statusMessage ?? '')}`.trimEnd());
  if (document.body !== null) lines.push(`body:    ${printable(document.body.trim())}`);
  const failure = document.failure;
  lines.push(failure === null ? 'result:  OK (mutual TLS: both sides verified)' : `result:  FAILED ${failure.code}: ${failure.message}`);
  return lines.map((line) => `    ${line}`);
}

/** The server's request lines, as "client <name>: GET / → 200". */
export function formatRequests(events: ServerEvent[]): string[] {
  return events
    .filter(({ event }) => event === 'request')
    .map(({ client, method, path, status }) => `    client ${JSON.stringify(client ?? null)}: ${printable(`${String(method)} ${String(path)}`)} → ${String(status)}`);
}

export function passed(run: ClientRun): boolean {
  return run.exit === 0 && run.document?.result === 'OK';
}

async function main(method: string, dir: string): Promise<number> {
  const run = await readClientRun(dir, 'client');
  console.log('  The PKI container issued (into one volume per identity):');
  console.log(formatIdentities(await readPkiReport(dir)).join('\n'));
  console.log();
  console.log(`  The client saw (exit code ${run.exit}):`);
  console.log(run.document === undefined ? '    (no client output; see above)' : formatClient(run.document).join('\n'));
  console.log();
  console.log('  The server logged:');
  console.log(formatRequests(await readServerLog(dir)).join('\n') || '    (no request)');
  console.log();
  if (passed(run)) {
    console.log(`  PASS  ${method}: the server verified the client, the client verified the server`);
    return 0;
  }
  console.log(`  FAIL  ${method}: client exit code ${run.exit}`);
  return 1;
}

if (import.meta.main) {
  const [method, dir] = process.argv.slice(2);
  if (method === undefined || dir === undefined) {
    console.error('usage: node demo/method-report.ts METHOD DIR (what demo/run.sh gathered)');
    process.exitCode = 2;
  } else {
    process.exitCode = await main(method, dir);
  }
}
