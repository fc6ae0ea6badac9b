// What mTLS costs in our server, side by side with a bare node:https baseline:
//   npm run bench -- [--key-size 2048|3072] [--repeat 3] [--saturation-repeat 5]
//                    [--seconds 3] [--warmup 0.5] [--concurrency 8]
//                    [--saturation-concurrency 32] [--max-requests 100000]
//                    [--handshake-rate 60] [--keepalive-rate 1500] [--kinds-repeat 3]
//                    [--pki-runs 5] [--out DIR]
// First at fixed rates (both servers see the same light load), then at
// saturation (closed loop: each connection sends its next request as soon as the
// last one is answered), where the targets are judged: kept-alive requests, full
// handshakes, and resumed TLS 1.3 sessions. Then a full mutual handshake per key
// type (RSA-2048, RSA-3072, ECDSA P-256, Ed25519; --kinds-repeat 0 skips it) at
// saturation next to the `openssl speed` floor, then the PKI benchmark
// (bench/pki.ts) with --pki-runs runs (0 skips it).
// Servers run pinned to one core (taskset -c 1) when the machine has two or
// more, and the load generator (one worker) to the other: sharing the server's
// core, it kept the server half idle. Server CPU time per operation (from /proc)
// is the robust figure. At saturation a third server, koa answering the same
// body from one middleware (bench/koa-server.ts), splits ours/bare in two:
// what koa costs, and what we add on top.
import { spawn, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from 'node:tls';
import { Worker } from 'node:worker_threads';
import { runPki } from '../pki/issue.ts';
import { resolvePkiOptions } from '../pki/options.ts';
import { RSA_BITS } from '../core/key-types.ts';
import { handshakeFloorUs, KEY_KINDS, opensslSpeed as signatureSpeed, type KeyKind, type SignatureSpeed } from './kinds.ts';
import type { LoadJob, LoadResult, Mode } from './load.ts';
import { cpuTimeMs, residentMiB } from './proc.ts';
import { median, quantile } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVERS = {
  ours: join(ROOT, 'services/server/main.ts'),
  baseline: join(ROOT, 'bench/baseline-server.ts'),
  koa: join(ROOT, 'bench/koa-server.ts'),
} as const;
type ServerName = keyof typeof SERVERS;
/** fixed: each mode at its fixed rate; saturation: closed loop, as fast as the server answers. */
type Load = 'fixed' | 'saturation';
const MODES: Record<Load, Mode[]> = { fixed: ['handshake', 'keepalive'], saturation: ['keepalive', 'handshake', 'resume'] };
type Material = Pick<LoadJob, 'cert' | 'key' | 'ca'>;
/** ours/bare server CPU per operation at saturation, at most. */
const TARGETS = { keepalive: 1.5, handshake: 1.1, resume: 1.1 } as const;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

interface Measured {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  completed: number;
  /** Requests whose connection resumed a TLS session (in a summary: over all repeats, as is `completedInAll`). */
  resumed: number;
  completedInAll: number;
  cpuUsPerOp: number;
  /** Server CPU time over the window's duration: 1.00 is one core kept busy, i.e. the server saturated. */
  serverBusy: number;
  rssAfterWarmupMiB: number;
  rssAfterRunMiB: number;
}

interface Cell extends Measured {
  load: Load;
  mode: Mode;
  server: ServerName;
  pid: number;
}

const settings = readSettings();
// Decided once, before this process pins itself (after that, it sees one core).
const SERVER_CPU = serverCpu();
// The load generator's core: the one the servers leave (its workers inherit it).
if (SERVER_CPU !== undefined) spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
const work = mkdtempSync(join(tmpdir(), 'mtls-bench-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

try {
  const out = join(work, 'pki');
  await runPki(resolvePkiOptions({ method: 'method1', out, keySize: settings.keySize }));
  const material = clientMaterial(out);
  const rate = (mode: Mode) => (settings.rate[mode] > 0 ? `${settings.rate[mode]}/s` : 'as fast as possible');
  console.error(`bench: RSA-${settings.keySize}, ${settings.seconds} s per cell after ${settings.warmup} s warm-up, from ${workerCount()} load worker(s), ${SERVER_CPU === undefined ? 'servers not pinned' : `servers pinned to CPU ${SERVER_CPU}, load generator to CPU 0`}`);
  console.error(`bench: fixed rates (${settings.repeat}×, ${settings.concurrency} in flight): handshakes at ${rate('handshake')}, kept-alive requests at ${rate('keepalive')}; saturation (${settings.saturationRepeat}×, ${settings.saturationConcurrency} in flight): ${MODES.saturation.join(', ')}`);

  const cells: Cell[] = [];
  for (const load of ['fixed', 'saturation'] as const) {
    const repeat = load === 'fixed' ? settings.repeat : settings.saturationRepeat;
    for (let run = 0; run < repeat; run++) {
      for (const server of alternate(run, load)) {
        const modes = server === 'koa' ? (['keepalive'] as Mode[]) : MODES[load];
        for (const cell of await measure(load, modes, server, join(out, 'server'), material, `${load}-${server}-${run}`)) {
          const resumed = cell.mode === 'resume' ? `, ${percent(cell.resumed, cell.completed)} resumed` : '';
          console.error(`bench: ${load.padEnd(10)} ${cell.mode.padEnd(9)} ${server.padEnd(8)} run ${run + 1}: ${cell.requestsPerSecond.toFixed(0)} req/s, ${cell.cpuUsPerOp.toFixed(0)} µs CPU/op, ${cell.errors} errors${resumed}`);
          cells.push(cell);
        }
      }
    }
  }
  const floor = opensslSpeed(settings.keySize);
  const summary = summarize(cells);
  console.log(formatTable(summary, floor));
  const byKeyType = settings.kindsRepeat > 0 ? await measureKinds() : [];
  if (byKeyType.length > 0) console.log(`\n${formatKinds(byKeyType)}`);
  mkdirSync(settings.out, { recursive: true });
  const file = join(settings.out, `mtls-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ settings, cells, summary, opensslSpeed: floor, byKeyType }, null, 2)}\n`);
  console.log(`raw results: ${file}`);
  if (settings.pkiRuns > 0) {
    console.log('');
    execFileSync(process.execPath, [join(ROOT, 'bench/pki.ts'), '--runs', String(settings.pkiRuns)], { stdio: 'inherit' });
  }
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

function readSettings() {
  const { values } = parseArgs({
    options: {
      'key-size': { type: 'string', default: '2048' },
      repeat: { type: 'string', default: '3' },
      'saturation-repeat': { type: 'string', default: '5' },
      seconds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '0.5' },
      concurrency: { type: 'string', default: '8' },
      'saturation-concurrency': { type: 'string', default: '32' },
      'max-requests': { type: 'string', default: '100000' },
      'handshake-rate': { type: 'string', default: '60' },
      'keepalive-rate': { type: 'string', default: '1500' },
      'kinds-repeat': { type: 'string', default: '3' },
      'pki-runs': { type: 'string', default: '5' },
      out: { type: 'string', default: join(ROOT, 'bench/results') },
    },
  });
  const number = (name: keyof typeof values, min: number, max: number) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < min || value > max) {
      console.error(`bench: --${name} must be a number from ${min} to ${max}, not "${values[name]}"`);
      process.exit(2);
    }
    return value;
  };
  const keySize = RSA_BITS.find((bits) => String(bits) === values['key-size']);
  if (keySize === undefined) {
    console.error(`bench: --key-size must be one of ${RSA_BITS.join(', ')}, not "${values['key-size']}"`);
    process.exit(2);
  }
  return {
    keySize,
    repeat: Math.round(number('repeat', 1, 10)),
    saturationRepeat: Math.round(number('saturation-repeat', 1, 10)),
    seconds: number('seconds', 0.1, 20), // at most 20 s per measurement
    warmup: number('warmup', 0, 10),
    concurrency: Math.round(number('concurrency', 1, 64)),
    saturationConcurrency: Math.round(number('saturation-concurrency', 2, 64)),
    maxRequests: Math.round(number('max-requests', 1, 1_000_000)),
    kindsRepeat: Math.round(number('kinds-repeat', 0, 10)),
    pkiRuns: Math.round(number('pki-runs', 0, 100)),
    rate: { handshake: number('handshake-rate', 0, 10_000), keepalive: number('keepalive-rate', 0, 100_000), resume: 0 } as Record<Mode, number>,
    out: String(values.out),
  };
}

/** Who goes first alternates from repeat to repeat, so drift in the machine's state hits both alike; koa (kept-alive only) comes at saturation. */
function alternate(run: number, load: Load = 'fixed'): ServerName[] {
  const pair: ServerName[] = run % 2 === 0 ? ['ours', 'baseline'] : ['baseline', 'ours'];
  return load === 'saturation' ? [...pair, 'koa'] : pair;
}

function percent(part: number, whole: number): string {
  return `${whole === 0 ? 0 : Math.round((100 * part) / whole)}%`;
}

/** One server process, measured in each mode in turn (each after its own warm-up). */
async function measure(load: Load, modes: Mode[], name: ServerName, tlsDir: string, material: Material, label: string): Promise<Cell[]> {
  const logFile = join(work, `${label}.log`);
  const { child, port } = await startServer(name, tlsDir, logFile);
  try {
    const pid = child.pid as number;
    const cells: Cell[] = [];
    for (const mode of modes) {
      const job = {
        mode,
        url: `https://127.0.0.1:${port}/`,
        ...material,
        concurrency: load === 'fixed' ? settings.concurrency : settings.saturationConcurrency,
        maxRequests: settings.maxRequests,
        ratePerSecond: load === 'fixed' ? settings.rate[mode] : 0,
      };
      if (settings.warmup > 0) await generate({ ...job, durationMs: settings.warmup * 1000 });
      const rssAfterWarmupMiB = residentMiB(pid);
      const cpuBefore = cpuTimeMs(pid);
      const started = performance.now();
      const result = await generate({ ...job, durationMs: settings.seconds * 1000 });
      const elapsedS = (performance.now() - started) / 1000;
      const cpuMs = cpuTimeMs(pid) - cpuBefore;
      cells.push({
        load,
        mode,
        server: name,
        pid,
        requestsPerSecond: result.completed / elapsedS,
        p50Ms: quantile(result.latenciesMs, 0.5),
        p99Ms: quantile(result.latenciesMs, 0.99),
        errors: result.errors,
        completed: result.completed,
        resumed: result.resumed,
        completedInAll: result.completed,
        cpuUsPerOp: result.completed === 0 ? Number.NaN : (cpuMs * 1000) / result.completed,
        serverBusy: cpuMs / 1000 / elapsedS,
        rssAfterWarmupMiB,
        rssAfterRunMiB: residentMiB(pid),
      });
    }
    return cells;
  } finally {
    await stopServer(child);
  }
}

/** The CPU the servers are pinned to: the second one, leaving the first to the load generator and the rest of the machine. */
function serverCpu(): number | undefined {
  if (availableParallelism() < 2) return undefined;
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
    return 1;
  } catch {
    return undefined;
  }
}

async function startServer(name: ServerName, tlsDir: string, logFile: string): Promise<{ child: ChildProcess; port: number }> {
  const fd = openSync(logFile, 'w');
  const cpu = SERVER_CPU;
  const command = [process.execPath, SERVERS[name]];
  // Our server logs as it would in production: one JSON line per request, to a file here.
  // taskset execs node: the child's pid is the server's.
  const child = spawn(cpu === undefined ? command[0] as string : 'taskset', cpu === undefined ? command.slice(1) : ['-c', String(cpu), ...command], {
    env: { ...process.env, TLS_DIR: tlsDir, PORT: '0', HOST: '127.0.0.1', HEALTH_PORT: '' },
    stdio: ['ignore', fd, 'inherit'],
  });
  closeSync(fd);
  children.add(child);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const line = readFileSync(logFile, 'utf8').split('\n').find((entry) => entry.includes('"listening"'));
    if (line !== undefined) {
      const event = JSON.parse(line) as { url?: string; port?: number };
      return { child, port: event.port ?? Number(new URL(event.url as string).port) };
    }
    if (child.exitCode !== null) throw new Error(`${name} server exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name} server did not start within 10 s`);
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  children.delete(child);
}

/** One worker on its own core when pinned; otherwise two, sharing the machine with the server. */
function workerCount(): number {
  return SERVER_CPU !== undefined ? 1 : Math.min(2, availableParallelism());
}

/** Splits the job over worker threads (each with its share of the concurrency) and merges their results. */
async function generate(job: Omit<LoadJob, 'concurrency'> & { concurrency: number }): Promise<LoadResult> {
  const workers = workerCount();
  const shares = Array.from({ length: workers }, (_, index) => Math.floor(job.concurrency / workers) + (index < job.concurrency % workers ? 1 : 0)).filter((share) => share > 0);
  const results = await Promise.all(
    shares.map(
      (concurrency) =>
        new Promise<LoadResult>((resolve, reject) => {
          const maxRequests = Math.ceil(job.maxRequests / shares.length);
          const ratePerSecond = job.ratePerSecond / shares.length;
          const worker = new Worker(new URL('./load.ts', import.meta.url), { workerData: { ...job, concurrency, maxRequests, ratePerSecond } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return {
    completed: results.reduce((sum, result) => sum + result.completed, 0),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    resumed: results.reduce((sum, result) => sum + result.resumed, 0),
    firstError: results.find((result) => result.firstError !== undefined)?.firstError,
    latenciesMs: results.flatMap((result) => result.latenciesMs),
  };
}

/** Medians over the repeats, per server; and the median of the per-repeat ours/baseline ratios. */
interface Pair {
  ours: Measured;
  baseline: Measured;
  cpuRatio: number;
  /** koa alone (saturation, kept-alive): its medians, and the medians of the per-repeat koa/bare and ours/koa ratios. */
  koa?: { measured: Measured; overBare: number; oursOverKoa: number };
}
type Summary = Record<Load, Partial<Record<Mode, Pair>>>;

function summarize(cells: Cell[]): Summary {
  const summary: Summary = { fixed: {}, saturation: {} };
  for (const load of ['fixed', 'saturation'] as const) {
    for (const mode of MODES[load]) summary[load][mode] = pair(cells.filter((cell) => cell.load === load && cell.mode === mode));
  }
  return summary;
}

/** Both servers' cells of one kind of measurement, in repeat order. */
function pair(cells: Cell[]): Pair {
  const ours = cells.filter((cell) => cell.server === 'ours');
  const baseline = cells.filter((cell) => cell.server === 'baseline');
  const koa = cells.filter((cell) => cell.server === 'koa');
  // Each repeat measures both servers back to back: the median of those paired
  // ratios cancels slow drift in the machine better than a ratio of medians.
  const ratios = (a: Cell[], b: Cell[]) => median(a.map((cell, run) => cell.cpuUsPerOp / (b[run] as Cell).cpuUsPerOp));
  return {
    ours: medians(ours),
    baseline: medians(baseline),
    cpuRatio: ratios(ours, baseline),
    ...(koa.length === 0 ? {} : { koa: { measured: medians(koa), overBare: ratios(koa, baseline), oursOverKoa: ratios(ours, koa) } }),
  };
}

function medians(runs: Cell[]): Measured {
  const of = (pick: (cell: Cell) => number) => median(runs.map(pick));
  return {
    requestsPerSecond: of((cell) => cell.requestsPerSecond),
    p50Ms: of((cell) => cell.p50Ms),
    p99Ms: of((cell) => cell.p99Ms),
    errors: runs.reduce((sum, cell) => sum + cell.errors, 0),
    completed: of((cell) => cell.completed),
    resumed: runs.reduce((sum, cell) => sum + cell.resumed, 0),
    completedInAll: runs.reduce((sum, cell) => sum + cell.completed, 0),
    cpuUsPerOp: of((cell) => cell.cpuUsPerOp),
    serverBusy: of((cell) => cell.serverBusy),
    rssAfterWarmupMiB: of((cell) => cell.rssAfterWarmupMiB),
    rssAfterRunMiB: of((cell) => cell.rssAfterRunMiB),
  };
}

/** One key type's full-handshake cost at saturation: our server, the bare baseline, and the signature floor under both. */
interface KindRow extends Pair {
  kind: string;
  protocol: string;
  floor: (SignatureSpeed & { handshakeUs: number }) | undefined;
}

/** Full mutual handshakes against both servers, per key type (the CA and both leaves of that type). */
async function measureKinds(): Promise<KindRow[]> {
  const rows: KindRow[] = [];
  for (const kind of KEY_KINDS) {
    const out = join(work, `kind-${kind.label.replace(/\W/g, '')}`);
    await runPki(resolvePkiOptions({ method: 'method1', out, ...kind.pki }));
    const material = clientMaterial(out);
    const cells: Cell[] = [];
    for (let run = 0; run < settings.kindsRepeat; run++) {
      for (const server of alternate(run)) {
        const [cell] = await measure('saturation', ['handshake'], server, join(out, 'server'), material, `kind-${kind.label.replace(/\W/g, '')}-${server}-${run}`);
        console.error(`bench: ${kind.label.padEnd(11)} ${server.padEnd(8)} run ${run + 1}: ${(cell as Cell).cpuUsPerOp.toFixed(0)} µs CPU/handshake, ${(cell as Cell).errors} errors`);
        cells.push(cell as Cell);
      }
    }
    rows.push(kindRow(kind, cells, await negotiatedProtocol(out, material)));
  }
  return rows;
}

function kindRow(kind: KeyKind, cells: Cell[], protocol: string): KindRow {
  const speed = signatureSpeed(kind);
  return { kind: kind.label, ...pair(cells), protocol, floor: speed === undefined ? undefined : { ...speed, handshakeUs: handshakeFloorUs(speed) } };
}

function clientMaterial(out: string): Material {
  const read = (file: string) => readFileSync(join(out, 'client', file), 'utf8');
  return { cert: read('tls.crt'), key: read('tls.key'), ca: read('ca.crt') };
}

/** What the load generator negotiates with this material (one extra handshake against the baseline). */
async function negotiatedProtocol(out: string, material: Material): Promise<string> {
  const { child, port } = await startServer('baseline', join(out, 'server'), join(work, `protocol-${Date.now()}.log`));
  try {
    return await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...material }, () => {
        resolve(`${socket.getProtocol() ?? '?'} ${socket.getCipher().standardName}`);
        socket.destroy();
      });
      socket.once('error', reject);
    });
  } finally {
    await stopServer(child);
  }
}

function formatKinds(rows: KindRow[]): string {
  const lines = [
    `server CPU per full mutual TLS handshake at saturation, by key type (CA and leaves of that type; median of ${settings.kindsRepeat})`,
    `key type     ours      bare node:https  ours/bare  openssl speed floor: sign/s  verify/s  1 sign + 2 verifies`,
    `-----------  --------  ---------------  ---------  ---------------------------  --------  -------------------`,
  ];
  for (const row of rows) {
    const floor = row.floor;
    lines.push(
      [
        row.kind.padEnd(11),
        `${row.ours.cpuUsPerOp.toFixed(0)} µs`.padStart(8),
        `${row.baseline.cpuUsPerOp.toFixed(0)} µs`.padStart(15),
        `${row.cpuRatio.toFixed(2)}×`.padStart(9),
        (floor === undefined ? 'n/a' : floor.signPerSecond.toFixed(0)).padStart(27),
        (floor === undefined ? 'n/a' : floor.verifyPerSecond.toFixed(0)).padStart(8),
        (floor === undefined ? 'n/a' : `${floor.handshakeUs.toFixed(0)} µs`).padStart(19),
      ].join('  '),
    );
  }
  const errors = rows.reduce((sum, row) => sum + row.ours.errors + row.baseline.errors, 0);
  lines.push(`negotiated: ${[...new Set(rows.map((row) => row.protocol))].join('; ')}; errors in all cells: ${errors}`);
  return lines.join('\n');
}

/** One core's RSA sign/verify rate: the floor under a handshake (see handshakeFloorUs). */
function opensslSpeed(bits: number): SignatureSpeed | undefined {
  try {
    const output = execFileSync('openssl', ['speed', '-seconds', '1', `rsa${bits}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const match = new RegExp(`rsa\\s+${bits} bits\\s+\\S+\\s+\\S+\\s+([\\d.]+)\\s+([\\d.]+)`).exec(output);
    return match === null ? undefined : { signPerSecond: Number(match[1]), verifyPerSecond: Number(match[2]) };
  } catch {
    return undefined;
  }
}

function formatTable(summary: Summary, floor: SignatureSpeed | undefined): string {
  const lines: string[] = [];
  for (const load of ['fixed', 'saturation'] as const) {
    lines.push(
      load === 'fixed'
        ? `at fixed rates (${settings.rate.handshake} handshakes/s, ${settings.rate.keepalive} kept-alive requests/s; ${settings.concurrency} in flight; median of ${settings.repeat})`
        : `at saturation (closed loop, ${settings.saturationConcurrency} connections; median of ${settings.saturationRepeat})`,
      `mode       server     req/s   p50 ms   p99 ms  errors  server busy  server CPU/op  ours/bare   RSS warm→after (MiB)`,
      `---------  --------  ------  -------  -------  ------  -----------  -------------  ---------  --------------------`,
    );
    for (const mode of MODES[load]) {
      const measured = summary[load][mode] as Pair;
      const rows: [string, Measured, string][] = [
        ['ours', measured.ours, `${measured.cpuRatio.toFixed(2)}×`],
        ['baseline', measured.baseline, ''],
        ...(measured.koa === undefined ? [] : [['koa', measured.koa.measured, `${measured.koa.overBare.toFixed(2)}×`] as [string, Measured, string]]),
      ];
      for (const [server, cell, ratioText] of rows) {
        lines.push(
          [
            mode.padEnd(9),
            server.padEnd(8),
            cell.requestsPerSecond.toFixed(0).padStart(6),
            cell.p50Ms.toFixed(2).padStart(7),
            cell.p99Ms.toFixed(2).padStart(7),
            String(cell.errors).padStart(6),
            `${Math.round(cell.serverBusy * 100)}%`.padStart(11),
            `${cell.cpuUsPerOp.toFixed(0)} µs`.padStart(13),
            ratioText.padStart(9),
            `${cell.rssAfterWarmupMiB.toFixed(1)} → ${cell.rssAfterRunMiB.toFixed(1)}`.padStart(20),
          ].join('  '),
        );
      }
    }
    lines.push('');
  }
  const saturation = summary.saturation as Record<Mode, Pair>;
  const ratio = (mode: Mode) => saturation[mode].cpuRatio;
  const resumed = (server: 'ours' | 'baseline') => percent(saturation.resume[server].resumed, saturation.resume[server].completedInAll);
  // Ours resumed against ours full: both from the same repeats' medians.
  const resumedVsFull = saturation.resume.ours.cpuUsPerOp / saturation.handshake.ours.cpuUsPerOp;
  const fixed = summary.fixed as Record<Mode, Pair>;
  const memory = fixed.keepalive.ours.rssAfterRunMiB / fixed.keepalive.ours.rssAfterWarmupMiB;
  lines.push('ours/bare ratios are medians of the per-repeat pairs; the targets are judged at saturation:');
  lines.push(`  server CPU per kept-alive request, ours/bare:   ${ratio('keepalive').toFixed(2)}×  (target ≤ ${TARGETS.keepalive.toFixed(2)}×: ${verdict(ratio('keepalive') <= TARGETS.keepalive)})`);
  const koa = saturation.keepalive.koa;
  if (koa !== undefined) {
    lines.push(`    of which koa alone (one middleware, the same body), koa/bare: ${koa.overBare.toFixed(2)}×; what we add on top, ours/koa: ${koa.oursOverKoa.toFixed(2)}×`);
  }
  lines.push(`  server CPU per full mTLS handshake, ours/bare:  ${ratio('handshake').toFixed(2)}×  (target ≤ ${TARGETS.handshake.toFixed(2)}×: ${verdict(ratio('handshake') <= TARGETS.handshake)})`);
  lines.push(`  server CPU per resumed handshake, ours/bare:    ${ratio('resume').toFixed(2)}×  (target ≤ ${TARGETS.resume.toFixed(2)}×: ${verdict(ratio('resume') <= TARGETS.resume)})`);
  lines.push(`  ours, resumed/full handshake:                   ${resumedVsFull.toFixed(2)}×  (target ≤ 0.50×: ${verdict(resumedVsFull <= 0.5)}); bare: ${(saturation.resume.baseline.cpuUsPerOp / saturation.handshake.baseline.cpuUsPerOp).toFixed(2)}×`);
  lines.push(`  connections that resumed a session in resume mode: ours ${resumed('ours')}, bare ${resumed('baseline')}`);
  const errors = (['fixed', 'saturation'] as const).flatMap((load) => MODES[load].flatMap((mode) => [(summary[load][mode] as Pair).ours.errors, (summary[load][mode] as Pair).baseline.errors])).reduce((a, b) => a + b, 0);
  lines.push(`errors in all cells: ${errors}; our RSS after the fixed-rate keep-alive run is ${((memory - 1) * 100).toFixed(1)}% vs after warm-up (target within 20%: ${verdict(Math.abs(memory - 1) <= 0.2)})`);
  if (floor !== undefined) {
    lines.push(`floor (openssl speed, one core): RSA-${settings.keySize} sign ${floor.signPerSecond.toFixed(0)}/s, verify ${floor.verifyPerSecond.toFixed(0)}/s → ${handshakeFloorUs(floor).toFixed(0)} µs of RSA per server-side mTLS handshake (1 sign + 2 verifies)`);
  }
  return lines.join('\n');
}
