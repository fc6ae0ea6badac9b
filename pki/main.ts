import { exitCodeOf, MtlsError } from '../core/errors.ts';
import { withDemoIdentities } from './demo-identities.ts';
import { runPki } from './issue.ts';
import { parseLockWait } from './lock.ts';
import { parsePkiArgs, resolvePkiOptions, USAGE, UsageError } from './options.ts';
import { formatReport, formatReportJson } from './report.ts';

const JSON_FLAG = '--json';
const JSON_USAGE = `  ${JSON_FLAG.padEnd(21)}print the report as one line of JSON (per identity: issued or kept, why,
                       subject, SANs, validity, fingerprint)`;

// Exit codes: 0 done, 1 existing material refused, another run busy, or a write failed; 2 bad input.
try {
  // How to report is the entry point's business; what to issue is the options'.
  const argv = process.argv.slice(2);
  const json = argv.includes(JSON_FLAG);
  const init = parsePkiArgs(argv.filter((arg) => arg !== JSON_FLAG));
  const lockWaitMs = parseLockWait(process.env.PKI_LOCK_WAIT_SECONDS);
  if (init === undefined) {
    console.log(`${USAGE}\n${JSON_USAGE}`);
  } else {
    // Demo identities are a step after method1, signed by the CA it issued or kept, under the same lock.
    const result = await runPki(resolvePkiOptions(init), new Date(), lockWaitMs, withDemoIdentities);
    console.log(json ? formatReportJson(result) : formatReport(result));
  }
} catch (error) {
  // A refusal's message is the whole story; anything else is described from its code and path.
  const message = error instanceof MtlsError ? error.message : describeFailure(error);
  const hint = error instanceof UsageError ? ' (see --help)' : '';
  console.error(`pki: ${message}${hint}`);
  process.exitCode = exitCodeOf(error);
}

function describeFailure(error: unknown): string {
  const { code, path, message } = error as NodeJS.ErrnoException;
  return path !== undefined && code !== undefined ? `cannot write ${path} (${code})` : String(message ?? error);
}
