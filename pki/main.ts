import { withDemoIdentities } from './demo-identities.ts';
import { UnsafePathError } from './files.ts';
import { CaMaterialError, runPki } from './issue.ts';
import { LockBusyError, parseLockWait } from './lock.ts';
import { parsePkiOptions, USAGE, UsageError } from './options.ts';
import { formatReport, formatReportJson } from './report.ts';

const JSON_FLAG = '--json';
const JSON_USAGE = `  ${JSON_FLAG.padEnd(21)}print the report as one line of JSON (per identity: issued or kept, why,
                       subject, SANs, validity, fingerprint)`;

// Refusals whose message is the whole story; anything else is described from its code and path.
const REFUSALS = [UsageError, CaMaterialError, UnsafePathError, LockBusyError];

// Exit codes: 0 done, 1 existing material refused, another run busy, or a write failed; 2 bad input.
try {
  // How to report is the entry point's business; what to issue is parsePkiOptions'.
  const argv = process.argv.slice(2);
  const json = argv.includes(JSON_FLAG);
  const options = parsePkiOptions(argv.filter((arg) => arg !== JSON_FLAG));
  const lockWaitMs = parseLockWait(process.env.PKI_LOCK_WAIT_SECONDS);
  if (options === undefined) {
    console.log(`${USAGE}\n${JSON_USAGE}`);
  } else {
    // Demo identities are a step after method1, signed by the CA it issued or kept, under the same lock.
    const result = await runPki(options, new Date(), lockWaitMs, withDemoIdentities);
    console.log(json ? formatReportJson(result) : formatReport(result));
  }
} catch (error) {
  process.exitCode = error instanceof UsageError ? 2 : 1;
  const hint = error instanceof UsageError ? ' (see --help)' : '';
  const message = REFUSALS.some((kind) => error instanceof kind) ? (error as Error).message : describeFailure(error);
  console.error(`pki: ${message}${hint}`);
}

function describeFailure(error: unknown): string {
  const { code, path, message } = error as NodeJS.ErrnoException;
  return path !== undefined && code !== undefined ? `cannot write ${path} (${code})` : String(message ?? error);
}
