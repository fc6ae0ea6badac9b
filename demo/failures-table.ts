// The failure table of `make demo`: once the compose profile `failures` ran
// and demo/collect-failures.sh gathered its output into a folder, one row per
// scenario of demo/scenarios.ts: what mTLS must do, what the client reported,
// what the server logged for that very connection, and PASS/FAIL. A row
// passes only when both sides say what the table expects. Exits 1 if any
// scenario behaved otherwise, a client that got in included.
//
//   node demo/failures-table.ts DIR
import { printable } from '../services/client/printable.ts';
import { describeCertificate, type PkiDocument } from '../pki/report.ts';
import { SCENARIOS, type Scenario, type ServerExpectation } from './scenarios.ts';
import { readClientRun, readPkiReport, readServerLog, serverLineFor, type ClientRun, type ServerEvent } from './inputs.ts';
import { formatColumns } from './columns.ts';

export interface Row {
  scenario: Scenario;
  reported: string;
  connection: string;
  logged: string;
  pass: boolean;
}

/** One row: the client's run and the server's line for its connection, against what the table expects. */
export function failureRow(scenario: Scenario, run: ClientRun, server: ServerEvent[]): Row {
  const row = (reported: string, connection = '-', logged = '-', pass = false) => ({ scenario, reported, connection, logged, pass });
  if (run.exit === 'missing') return row(`no container client-${scenario.id}`);
  if (run.exit === 'created') return row('never started');
  const document = run.document;
  if (document === undefined) return row(`no JSON output (exit ${run.exit})`);
  const diagnosis = document.failure?.code ?? 'OK';
  const reported = `${diagnosis}${document.status === null ? '' : `, HTTP ${document.status}`} (exit ${run.exit})`;
  const local = document.connection?.local;
  if (local === undefined) return row(reported);
  const line = serverLineFor(server, local);
  const pass = run.exit === 1 && diagnosis === scenario.client.diagnosis && line !== undefined && matches(line, scenario.server);
  return row(reported, local, line === undefined ? 'nothing for this connection' : describeLine(line), pass);
}

/** Whether the line has every field the expectation names, with the same value. */
export function matches(line: ServerEvent, expected: ServerExpectation): boolean {
  return Object.entries(expected).every(([key, value]) => line[key] === value);
}

function describeLine(line: ServerEvent): string {
  const text = (key: string) => printable(String(line[key] ?? ''));
  if (line['event'] === 'handshake_failed') return `${text('reason')} [${text('code')}]`;
  if (line['event'] === 'request') return `HTTP ${text('status')} for ${text('client')}${line['reason'] === undefined ? '' : `: ${text('reason')}`}`;
  return text('event');
}

export function formatTable(rows: Row[]): string {
  const header = ['scenario', 'expected', 'client reported', 'connection', 'server logged for that connection', ''];
  const cells = rows.map(({ scenario, reported, connection, logged, pass }) => [
    scenario.title,
    scenario.expected,
    reported,
    connection,
    logged,
    pass ? 'PASS' : 'FAIL',
  ]);
  const failed = rows.filter(({ pass }) => !pass).length;
  const verdict =
    failed === 0
      ? "  PASS  every client was turned away as expected, and the server's log says why"
      : `  FAIL  ${failed} of ${rows.length} scenarios behaved otherwise`;
  return [...formatColumns([header, ...cells]).map((line) => `  ${line}`), '', verdict].join('\n');
}

/** What the PKI issued for each scenario, and what that client holds. */
function formatMaterial(identities: PkiDocument['identities']): string {
  const rows = identities.map(({ identity, action, certificate }) => {
    const scenario = SCENARIOS.find(({ id }) => `demo-${id}` === identity);
    const holds = scenario === undefined ? (certificate === null ? '' : describeCertificate(certificate)) : scenario.material.purpose;
    return [identity, action, holds];
  });
  return formatColumns(rows).map((line) => `    ${line}`).join('\n');
}

async function main(dir: string): Promise<number> {
  const pki = await readPkiReport(dir);
  console.log("  The PKI container (--with-demo-identities), on method1's volumes:");
  console.log(pki === undefined ? '    (no PKI report)' : formatMaterial(pki.identities));
  console.log();
  const server = await readServerLog(dir);
  const rows = await Promise.all(SCENARIOS.map(async (scenario) => failureRow(scenario, await readClientRun(dir, `client-${scenario.id}`), server)));
  console.log(formatTable(rows));
  return rows.every(({ pass }) => pass) ? 0 : 1;
}

if (import.meta.main) {
  const [dir] = process.argv.slice(2);
  if (dir === undefined) {
    console.error('usage: node demo/failures-table.ts DIR (what demo/collect-failures.sh gathered)');
    process.exitCode = 2;
  } else {
    process.exitCode = await main(dir);
  }
}
