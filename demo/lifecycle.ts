// The lifecycle part of `make demo`, as a table: reads the JSON lines of both
// agents and of the loop client (stdin, in any order) and prints every
// certificate each identity held, when it was installed, and how many requests
// were served under it. Exit 0 (PASS) only when both identities were renewed at
// least twice and not one request failed. Runs with the node of the client image:
// the host needs only Docker. No imports, so it runs from any directory.

interface Rotation {
  identity: string;
  event: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  time: string;
}

interface Traffic {
  ok: number;
  failed: number;
  final?: boolean;
  reloads?: number;
  newConnections?: { ok: number };
  keptAlive?: { ok: number };
  servedUnder?: { client: Record<string, number>; server: Record<string, number> };
}

const MIN_RENEWALS = 2;

function parse(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const start = line.indexOf('{"');
    if (start === -1) continue;
    try {
      events.push(JSON.parse(line.slice(start)) as Record<string, unknown>);
    } catch {
      // compose's own lines, a stack trace: not ours
    }
  }
  return events;
}

const clock = (iso: string) => iso.slice(11, 19);

function report(events: Record<string, unknown>[]): boolean {
  const rotations = events.filter((e) => (e['event'] === 'enrolled' || e['event'] === 'renewed') && typeof e['identity'] === 'string') as unknown as Rotation[];
  const traffic = events.filter((e) => e['event'] === 'traffic') as unknown as Traffic[];
  const final = traffic.find((t) => t.final === true) ?? traffic.at(-1);
  const served = final?.servedUnder ?? { client: {}, server: {} };
  const failures = events.filter((e) => e['event'] === 'request_failed');

  console.log('  identity  serial                            valid (UTC)           renewed at           requests');
  for (const identity of ['server', 'client'] as const) {
    for (const r of rotations.filter((r) => r.identity === identity).sort((a, b) => a.time.localeCompare(b.time))) {
      const how = r.event === 'enrolled' ? 'enrolled' : 'renewed ';
      const requests = served[identity][r.serial] ?? 0;
      console.log(`  ${identity.padEnd(8)}  ${r.serial.padEnd(32)}  ${clock(r.notBefore)} → ${clock(r.notAfter)}   ${clock(r.time)} ${how}  ${String(requests).padStart(8)}`);
    }
  }
  console.log();
  for (const failure of failures.slice(0, 5)) console.log(`  failed request: ${JSON.stringify(failure)}`);

  const renewals = (identity: string) => rotations.filter((r) => r.identity === identity && r.event === 'renewed').length;
  const problems: string[] = [];
  if (final === undefined) problems.push('the loop client printed no traffic summary');
  for (const identity of ['server', 'client']) {
    if (renewals(identity) < MIN_RENEWALS) problems.push(`${identity} was renewed ${renewals(identity)} times (at least ${MIN_RENEWALS} expected)`);
  }
  if (final !== undefined && final.failed !== 0) problems.push(`${final.failed} of ${final.ok + final.failed} requests failed`);
  if (final !== undefined && final.ok === 0) problems.push('not one request was answered');

  if (final !== undefined) {
    console.log(`  traffic: ${final.ok} requests answered (${final.newConnections?.ok ?? 0} on new connections, ${final.keptAlive?.ok ?? 0} kept alive), ${final.failed} failed; the client reloaded its certificate ${final.reloads ?? 0} times`);
  }
  if (problems.length === 0) {
    console.log(`  PASS  lifecycle: server renewed ${renewals('server')} times, client ${renewals('client')} times, each with a new key; not one request failed`);
    return true;
  }
  for (const problem of problems) console.log(`  FAIL  lifecycle: ${problem}`);
  return false;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => (input += chunk));
process.stdin.on('end', () => {
  process.exitCode = report(parse(input)) ? 0 : 1;
});
