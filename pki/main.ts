import { formatReport } from './report.ts';
import { UnsafePathError } from './files.ts';
import { CaMaterialError, runPki } from './issue.ts';
import { parsePkiOptions, USAGE, UsageError } from './options.ts';

// Exit codes: 0 done, 1 existing material refused or a write failed, 2 bad input.
try {
  const options = parsePkiOptions(process.argv.slice(2));
  if (options === undefined) {
    console.log(USAGE);
  } else {
    console.log(formatReport(await runPki(options)));
  }
} catch (error) {
  process.exitCode = error instanceof UsageError ? 2 : 1;
  const hint = error instanceof UsageError ? ' (see --help)' : '';
  const message = error instanceof UsageError || error instanceof CaMaterialError || error instanceof UnsafePathError ? error.message : describeFailure(error);
  console.error(`pki: ${message}${hint}`);
}

function describeFailure(error: unknown): string {
  const { code, path, message } = error as NodeJS.ErrnoException;
  return path !== undefined && code !== undefined ? `cannot write ${path} (${code})` : String(message ?? error);
}
