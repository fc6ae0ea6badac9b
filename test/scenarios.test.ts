// The table of failure scenarios (demo/scenarios.ts) and the files that
// cannot import it: docker-compose.yml and the Dockerfile. Adding a scenario
// to one and not the other fails here, in a second, not in the container
// tests. Then the demo's verdict per row, on the inputs it reads by key.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { failureRow, formatTable } from '../demo/failures-table.ts';
import type { ClientRun, ServerEvent } from '../demo/inputs.ts';
import { SCENARIOS, type Scenario } from '../demo/scenarios.ts';
import type { ExchangeDocument } from '../services/client/report-json.ts';
import { ROOT } from './helpers/processes.ts';

const read = (file: string) => readFile(join(ROOT, file), 'utf8');
const ids = SCENARIOS.map(({ id }) => id).sort();

/** docker-compose.yml's services, each with the text of its block. */
function services(compose: string): Map<string, string> {
  const section = compose.slice(compose.indexOf('\nservices:\n'), compose.indexOf('\nnetworks:\n'));
  const blocks = new Map<string, string>();
  for (const block of section.split(/\n(?= {2}[a-z0-9-]+:\n)/).slice(1)) {
    const name = /^ {2}([a-z0-9-]+):/.exec(block)?.[1];
    if (name !== undefined) blocks.set(name, block);
  }
  return blocks;
}

/** The ids in `text` matched by `pattern`'s first group, sorted. */
function all(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((match) => match[1] ?? '').sort();
}

describe('the failure scenarios table and docker-compose.yml', () => {
  it('has one client service per scenario in the failures profile, each mounting only its own volume', async () => {
    const blocks = services(await read('docker-compose.yml'));
    const failureClients = [...blocks].filter(([name, block]) => name.startsWith('client-') && block.includes('<<: *failure-client'));
    assert.deepEqual(failureClients.map(([name]) => name.slice('client-'.length)).sort(), ids);
    for (const [name, block] of failureClients) {
      assert.deepEqual(all(block, /volumes: \[failures-([a-z0-9-]+):\/tls:ro\]/g), [name.slice('client-'.length)], name);
    }
  });

  it('has the PKI mount every scenario volume on its demo folder, and declares each volume', async () => {
    const compose = await read('docker-compose.yml');
    const pki = services(compose).get('pki-failures') ?? '';
    const mounts = [...pki.matchAll(/- failures-([a-z0-9-]+):\/out\/demo-([a-z0-9-]+)/g)];
    assert.ok(mounts.every(([, volume, folder]) => volume === folder), pki);
    assert.deepEqual(mounts.map(([, volume]) => volume).sort(), ids);
    const declared = compose.slice(compose.indexOf('\nvolumes:\n'));
    assert.deepEqual(all(declared, /^ {2}failures-([a-z0-9-]+): \{\}$/gm), ids);
  });

  it('dials the host each scenario names, an alias of the failures server', async () => {
    const blocks = services(await read('docker-compose.yml'));
    const aliases = /aliases: \[([^\]]*)\]/.exec(blocks.get('server-failures') ?? '')?.[1]?.split(/, */) ?? [];
    for (const { id, client } of SCENARIOS) {
      const url = /SERVER_URL: (\S+)/.exec(blocks.get(`client-${id}`) ?? '')?.[1] ?? 'https://server:9443/';
      assert.equal(url, `https://${client.dials ?? 'server'}:9443/`, id);
      assert.ok(aliases.includes(client.dials ?? 'server'), `${id}: ${aliases.join(', ')}`);
    }
  });
});

describe('the failure scenarios table and the Dockerfile', () => {
  it("makes the PKI image's demo folders from the table, naming none by hand", async () => {
    const dockerfile = await read('Dockerfile');
    assert.match(dockerfile, /^COPY demo\/scenarios\.ts demo\/scenarios\.ts$/m);
    assert.match(dockerfile, /import\('\.\/pki\/demo-folders\.ts'\)\.then\(\(\{ DEMO_FOLDERS \}\)/);
    for (const id of ids) assert.doesNotMatch(dockerfile, new RegExp(`demo-${id}\\b`), id);
    assert.match(await read('.dockerignore'), /^!demo\/scenarios\.ts$/m);
  });
});

/** What the client prints for a scenario that fails as the table says. */
function clientAsExpected(scenario: Scenario, local: string): ExchangeDocument {
  const forbidden = scenario.client.diagnosis === 'FORBIDDEN';
  return {
    url: `https://${scenario.client.dials ?? 'server'}:9443/`,
    presents: null,
    trusts: ['CN=selfCA'],
    warnings: [],
    attempts: 1,
    connection: { local, remote: '172.18.0.3:9443' },
    server: null,
    protocol: forbidden ? 'TLSv1.3' : null,
    cipher: null,
    status: forbidden ? 403 : null,
    statusMessage: forbidden ? 'Forbidden' : null,
    location: null,
    body: forbidden ? 'not allowed\n' : null,
    result: 'FAILED',
    failure: { code: scenario.client.diagnosis, message: 'as expected' },
  };
}

describe("make demo's failure table, from the inputs it reads by key", () => {
  const local = (index: number) => `172.18.0.${10 + index}:4${index}000`;
  const lineFor = (scenario: Scenario, index: number): ServerEvent => ({
    // Keys in an order of their own: the table reads them by name.
    ...scenario.server,
    remotePort: 40000 + index * 1000,
    time: '2026-01-01T00:00:00.000Z',
    remote: `::ffff:172.18.0.${10 + index}`,
  });
  const runs = (): ClientRun[] => SCENARIOS.map((scenario, index) => ({ exit: 1, document: clientAsExpected(scenario, local(index)) }));
  const server = () => SCENARIOS.map(lineFor);

  it('passes every row when both sides say what the table expects', () => {
    const rows = SCENARIOS.map((scenario, index) => failureRow(scenario, runs()[index]!, server()));
    assert.ok(rows.every(({ pass }) => pass), JSON.stringify(rows));
    assert.match(formatTable(rows), /PASS {2}every client was turned away as expected/);
  });

  it('fails the row of a client that got in', () => {
    const scenario = SCENARIOS.find(({ id }) => id === 'expired')!;
    const index = SCENARIOS.indexOf(scenario);
    const document: ExchangeDocument = { ...clientAsExpected(scenario, local(index)), status: 200, result: 'OK', failure: null };
    const { remote, remotePort } = lineFor(scenario, index);
    const served = { event: 'request', client: 'client', status: 200, remote, remotePort };
    const row = failureRow(scenario, { exit: 0, document }, [served]);
    assert.equal(row.pass, false);
    assert.equal(row.reported, 'OK, HTTP 200 (exit 0)');
    assert.equal(row.logged, 'HTTP 200 for client');
    assert.match(formatTable([row]), /FAIL {2}1 of 1 scenarios behaved otherwise/);
  });

  it('fails a row whose server line says another reason, or is missing', () => {
    const [scenario] = SCENARIOS;
    assert.ok(scenario !== undefined);
    const other = { ...lineFor(scenario, 0), code: 'ECONNRESET' };
    assert.equal(failureRow(scenario, runs()[0]!, [other]).pass, false);
    const missing = failureRow(scenario, runs()[0]!, []);
    assert.deepEqual([missing.pass, missing.logged], [false, 'nothing for this connection']);
  });

  it('fails a row without a container, or one that never started', () => {
    const [scenario] = SCENARIOS;
    assert.ok(scenario !== undefined);
    assert.deepEqual(failureRow(scenario, { exit: 'missing', document: undefined }, []), {
      scenario,
      reported: `no container client-${scenario.id}`,
      connection: '-',
      logged: '-',
      pass: false,
    });
    assert.equal(failureRow(scenario, { exit: 'created', document: undefined }, []).reported, 'never started');
  });
});
