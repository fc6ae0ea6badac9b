// Where a profiled process spent its CPU, by function (self time), within a window:
//   node bench/cpu-profile.ts FILE.cpuprofile [--from US --to US] [--per N] [--top 25]
// --from/--to are on the monotonic clock in µs (bench:ca --cpu-prof prints its
// windows); --per N divides by the operations in the window (ms per operation).
// V8 samples JavaScript: native work run straight from the event loop (the TLS
// handshake) counts as idle, and samples are wall-clock time, so a process
// that waits for its shared core looks busy where it waits. /proc gives the
// CPU time; the profile tells where, among JavaScript, it goes.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, to: { type: 'string' }, per: { type: 'string', default: '1' }, top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (file === undefined) fail('usage: node bench/cpu-profile.ts FILE.cpuprofile [--from US --to US] [--per N] [--top 25]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const from = Number(values.from ?? -Infinity);
const to = Number(values.to ?? Infinity);
const per = Number(values.per);
const top = Number(values.top);
if (!(per > 0) || !Number.isInteger(top) || top < 1) fail('--per must be positive and --top a whole number');

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<string, number>();
let totalUs = 0;
let at = profile.startTime;
for (const [index, sample] of profile.samples.entries()) {
  // A sample's delta is the time since the previous one: attribute it to this sample.
  const delta = profile.timeDeltas[index] ?? 0;
  at += delta;
  if (at < from || at > to) continue;
  const node = byId.get(sample);
  if (node === undefined || node.callFrame.functionName === '(idle)') continue;
  const key = label(node);
  selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
  totalUs += delta;
}

console.log(`busy (non-idle) samples: ${(totalUs / 1000).toFixed(1)} ms, ${(totalUs / 1000 / per).toFixed(3)} ms per operation`);
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1000 / per).toFixed(3).padStart(8)} ms/op ${((us / totalUs) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${url.replace(/^.*\/(node_modules|services|bench)\//, '$1/')}:${lineNumber + 1}`;
  return `${functionName || '(anonymous)'}${where}`;
}

function fail(message: string): never {
  console.error(`cpu-profile: ${message}`);
  process.exit(2);
}
