// Issuing method1 with our PKI against the original sample's openssl CLI
// sequence, side by side in one run, per key type:
//   npm run bench:pki -- [--runs N] [--key-types RSA-2048,ECDSA\ P-256,Ed25519]
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DAY_MS } from '../pki/certificates.ts';
import { runPki } from '../pki/issue.ts';
import { resolvePkiOptions } from '../pki/options.ts';
import { createCsr, generateKey, issueCertificate, parseCsr, type KeySpec } from '../core/x509.ts';
import { KEY_KINDS, pickKinds, type KeyKind } from './kinds.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// As `npm run pki` runs it: with Node's compile cache, which spares the type-stripping start-up.
const CLI_ENV = { ...process.env, NODE_COMPILE_CACHE: process.env['NODE_COMPILE_CACHE'] ?? join(ROOT, 'node_modules/.cache/node-compile') };

// The original sample's commands, with the SANs and key usages a modern client
// needs, and the key type as a parameter: genpkey makes any key (genrsa only RSA).
const OPENSSL_METHOD1 = `set -e
openssl genpkey $GENPKEY -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key $DIGEST -days 365 -subj /CN=selfCA \\
  -addext basicConstraints=critical,CA:TRUE,pathlen:0 -addext keyUsage=critical,keyCertSign,cRLSign -out ca.crt
for who in server client; do
  openssl genpkey $GENPKEY -out $who.key 2>/dev/null
  openssl req -new -key $who.key $DIGEST -subj /CN=$who -out $who.csr
  openssl x509 -req -in $who.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 $DIGEST \\
    -extfile $who.ext -out $who.crt 2>/dev/null
done
`;
const EXTENSIONS = (keyUsage: string, eku: string, san: string) =>
  `basicConstraints=critical,CA:FALSE\nkeyUsage=${keyUsage}\nextendedKeyUsage=${eku}\nsubjectAltName=${san}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`;
const DEFAULT_KINDS = 'RSA-2048,ECDSA P-256,Ed25519';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' }, 'key-types': { type: 'string', default: DEFAULT_KINDS } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  console.error(`bench:pki: --runs must be a whole number from 1 to 100, not "${values.runs}"`);
  process.exit(2);
}
const { kinds, unknown } = pickKinds(values['key-types']);
if (unknown !== undefined || kinds.length === 0) {
  console.error(`bench:pki: --key-types is a comma-separated list of ${KEY_KINDS.map((kind) => kind.label).join(', ')}, not "${values['key-types']}"`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'mtls-bench-pki-'));
try {
  console.log(`method1 issuance (CA + server + client), median of ${runs} runs, per key type:`);
  for (const kind of kinds) {
    checkOpensslSequence(kind);
    const samples = { cli: [] as number[], library: [] as number[], openssl: [] as number[], builder: [] as number[] };
    const spec = resolvePkiOptions({ method: 'method1', out: work, ...kind.pki }).key;
    for (let run = 0; run < runs; run++) {
      // Interleaved, so that whatever else the machine does hits all three alike.
      const args = (kindOf: string) => ['--method', 'method1', '--out', fresh(kind, kindOf, run), ...kind.pkiArgs];
      samples.cli.push(time(() => execFileSync(process.execPath, ['pki/main.ts', ...args('cli')], { cwd: ROOT, env: CLI_ENV })));
      samples.library.push(await timeAsync(() => runPki(resolvePkiOptions({ method: 'method1', out: fresh(kind, 'lib', run), ...kind.pki }))));
      samples.openssl.push(time(() => opensslSequence(kind, fresh(kind, 'openssl', run))));
      samples.builder.push(await timeAsync(() => builderOnly(spec)));
    }
    const baseline = median(samples.openssl);
    console.log(`  ${kind.label}`);
    console.log(`    openssl CLI sequence (8 commands)   ${ms(baseline)}   1.00×`);
    console.log(`    pki/main.ts as a process            ${ms(median(samples.cli))}   ${ratio(median(samples.cli), baseline)}`);
    console.log(`    runPki() in process                 ${ms(median(samples.library))}   ${ratio(median(samples.library), baseline)}`);
    console.log(`    the shared builder alone, no files  ${ms(median(samples.builder))}   ${ratio(median(samples.builder), baseline)}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** What runPki() does minus the files: three keys (concurrently), the CA, two CSRs checked and signed. */
async function builderOnly(spec: KeySpec): Promise<void> {
  const [caKey, ...leafKeys] = await Promise.all([generateKey(spec), generateKey(spec), generateKey(spec)]);
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + DAY_MS);
  const caPem = issueCertificate({ profile: 'ca', commonName: 'selfCA', names: [], publicKey: caKey!, subjectKey: caKey, notBefore, notAfter });
  const issuer = { certificate: new X509Certificate(caPem), key: caKey! };
  for (const [index, key] of leafKeys.entries()) {
    const profile = index === 0 ? 'server' : 'client';
    const request = parseCsr(createCsr({ key, commonName: profile, names: [{ type: 'dns', value: profile }] }));
    issueCertificate({ profile, commonName: profile, names: request.names, publicKey: request.publicKey, issuer, notBefore, notAfter });
  }
}

function fresh(kind: KeyKind, who: string, run: number): string {
  return join(work, `${kind.label.replace(/\W/g, '')}-${who}-${run}`);
}

function opensslSequence(kind: KeyKind, dir: string): void {
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'server.ext'), EXTENSIONS(kind.keyUsage, 'serverAuth', 'DNS:server,DNS:localhost,IP:127.0.0.1,IP:::1'));
  writeFileSync(join(dir, 'client.ext'), EXTENSIONS(kind.keyUsage, 'clientAuth', 'DNS:client'));
  execFileSync('bash', ['-c', OPENSSL_METHOD1], { cwd: dir, env: { ...process.env, GENPKEY: kind.genpkey.join(' '), DIGEST: kind.digest } });
}

/** Once per key type, untimed: the openssl sequence really makes what our PKI makes (else the comparison is void). */
function checkOpensslSequence(kind: KeyKind): void {
  const dir = fresh(kind, 'check', 0);
  opensslSequence(kind, dir);
  for (const [who, purpose] of [['server', 'sslserver'], ['client', 'sslclient']]) {
    execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', 'ca.crt', '-purpose', purpose as string, `${who}.crt`], { cwd: dir, stdio: 'ignore' });
  }
}

function time(action: () => unknown): number {
  const start = performance.now();
  action();
  return performance.now() - start;
}

async function timeAsync(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

function ms(value: number): string {
  return `${value.toFixed(value < 100 ? 1 : 0).padStart(6)} ms`;
}

function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}×`;
}
