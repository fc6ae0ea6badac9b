import { ConfigError } from '../../core/config-error.ts';
import { exitCodeOf, MtlsError } from '../../core/errors.ts';
import { certificateProblems, TlsMaterialError } from '../../core/tls-material.ts';
import { readClientConfig, type ClientConfig } from './config.ts';
import { exchange } from './exchange.ts';
import { runLoopProcess } from './loop.ts';
import { readClientMaterial } from './material.ts';
import { formatExchange } from './report.ts';
import { formatExchangeJson } from './report-json.ts';

// Exit codes: 0 the server answered 2xx; 1 the exchange failed; 2 bad configuration or material.
try {
  const config = readClientConfig(process.env);
  if (config.loop !== undefined) {
    const code = await runLoopProcess(config, config.loop);
    // stdout to a pipe (a container's log) is written asynchronously: exit once the final summary is out.
    process.stdout.write('', () => process.exit(code));
  } else {
    process.exitCode = await exchangeOnce(config);
  }
} catch (error) {
  if (!(error instanceof MtlsError)) throw error;
  console.error(`client: ${error.message}`);
  process.exitCode = exitCodeOf(error);
}

/** One request, reported for a person (or as JSON); the exit code says how it went. */
async function exchangeOnce(config: ClientConfig): Promise<number> {
  const material = await readClientMaterial(config.tlsDir).catch(asConfigError);
  const warnings = material.certificate === undefined ? [] : certificateProblems(material.certificate, 'client');
  const result = await exchange(config, material);
  const format = config.output === 'json' ? formatExchangeJson : formatExchange;
  console.log(format(config, material, warnings, result));
  return result.failure === undefined ? 0 : 1;
}

/** The client's material is part of its configuration (TLS_DIR): unusable material is bad input, exit 2. */
function asConfigError(error: unknown): never {
  throw error instanceof TlsMaterialError ? new ConfigError(error.message, { cause: error }) : error;
}
