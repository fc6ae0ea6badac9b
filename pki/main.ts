import { withDemoIdentities } from './demo-identities.ts';
import { CaMaterialError, runPki } from './issue.ts';
import { parsePkiOptions, USAGE, UsageError } from './options.ts';
import { formatReport, formatReportJson } from './report.ts';

const JSON_FLAG = '--json';
const JSON_USAGE = `  ${JSON_FLAG.padEnd(21)}print the report as one line of JSON (per identity: issued or kept, why,
                       subject, SANs, validity, fingerprint)`;

// Exit codes: 0 done, 1 existing material refused or a write failed, 2 bad input.
try {
  // How to report is the entry point's business; what to issue is parsePkiOptions'.
  const argv = process.argv.slice(2);
  const json = argv.includes(JSON_FLAG);
  const options = parsePkiOptions(argv.filter((arg) => arg !== JSON_FLAG));
  if (options === undefined) {
    console.log(`${USAGE}\n${JSON_USAGE}`);
  } else {
    const now = new Date();
    // Demo identities are a step after method1, signed by the CA it issued or kept.
    const result = await withDemoIdentities(await runPki(options, now), now);
    console.log(json ? formatReportJson(result) : formatReport(result));
  }
} catch (error) {
  process.exitCode = error instanceof UsageError ? 2 : 1;
  const hint = error instanceof UsageError ? ' (see --help)' : '';
  const message = error instanceof UsageError || error instanceof CaMaterialError ? error.message : describeFailure(error);
  console.error(`pki: ${message}${hint}`);
}

function describeFailure(error: unknown): string {
  const { code, path, message } = error as NodeJS.ErrnoException;
  return path !== undefined && code !== undefined ? `cannot write ${path} (${code})` : String(message ?? error);
}
