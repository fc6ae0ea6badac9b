import { jsonLog } from '../../core/log.ts';
import { ConfigError } from '../../core/config-error.ts';
import { readCaConfig, readEnrollmentRequests } from './config.ts';
import { printInventory } from './inventory.ts';
import { runInit } from './init.ts';
import { startCa } from './serve.ts';
import { stopOnSignals } from '../../core/stop.ts';
import { exitCodeOf, MtlsError } from '../../core/errors.ts';

const USAGE = `usage: node services/ca/main.ts <command>
  init [--enroll IDENTITY:ROLE:DIR]...  create the CA (once) and mint one enrollment token per identity
  serve                                 run the CA's HTTPS API
  inventory                             print every certificate issued, one JSON line each
environment: CA_DIR (/ca), CA_PORT (9000), CA_HOST (0.0.0.0), CERT_TTL (2m), CERT_TTL_MAX (24h), TOKEN_TTL (10m),
             CRL_NEXT_UPDATE (2m: each CRL's validity; a new one is signed every quarter of it and at every revocation)`;

const log = jsonLog();
const SHUTDOWN_GRACE_MS = 3000;
const [command, ...args] = process.argv.slice(2);

// Exit codes: 0 done (or stopped cleanly), 1 failed, 2 bad command line or configuration.
try {
  switch (command) {
    case 'init':
      await runInit(readCaConfig(process.env), readEnrollmentRequests(args), log);
      break;
    case 'serve':
      noArguments('serve', args);
      await serve();
      break;
    case 'inventory':
      noArguments('inventory', args);
      await printInventory(readCaConfig(process.env).caDir, log);
      break;
    case '--help':
    case 'help':
      console.log(USAGE);
      break;
    default:
      throw new ConfigError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  }
  log.flush();
} catch (error) {
  process.exitCode = exitCodeOf(error);
  const known = error instanceof MtlsError;
  // One line: what failed (EADDRINUSE, say) is in the error's message; its stack is for developers.
  const message = known ? (error as Error).message : `failed: ${String(error).split('\n')[0]}`;
  log.error('failed', { command: command ?? null, message });
  log.flush();
  console.error(`ca: ${message}${error instanceof ConfigError ? ' (see "help")' : ''}`);
}

function noArguments(name: string, rest: readonly string[]): void {
  if (rest.length > 0) throw new ConfigError(`${name} takes no arguments, got "${rest.join(' ')}"`);
}

async function serve(): Promise<void> {
  const ca = await startCa(readCaConfig(process.env), log);
  stopOnSignals({ signals: ['SIGTERM', 'SIGINT'], graceMs: SHUTDOWN_GRACE_MS, log, close: () => ca.close(SHUTDOWN_GRACE_MS) });
}
