import { formatReport } from './report.ts';
import { UnsafePathError } from './files.ts';
import { CaMaterialError, runPki } from './issue.ts';
import { LockBusyError, parseLockWait } from './lock.ts';
import { parsePkiOptions, USAGE, UsageError } from './options.ts';

// Refusals whose message is the whole story; anything else is described from its code and path.
const REFUSALS = [UsageError, CaMaterialError, UnsafePathError, LockBusyError];

// Exit codes: 0 done, 1 existing material refused, another run busy, or a write failed; 2 bad input.
try {
  const options = parsePkiOptions(process.argv.slice(2));
  const lockWaitMs = parseLockWait(process.env.PKI_LOCK_WAIT_SECONDS);
  if (options === undefined) {
    console.log(USAGE);
  } else {
    console.log(formatReport(await runPki(options, new Date(), lockWaitMs)));
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
