import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../shared/config-error.ts';
import {
  CERTIFICATE_FILE,
  certificateProblems,
  KEY_FILE,
  readTlsMaterial,
  readTrust,
  TlsMaterialError,
  type Trust,
  type TlsMaterial,
} from '../shared/tls-material.ts';
import { readClientConfig } from './config.ts';
import { exchange } from './exchange.ts';
import { formatExchange } from './report.ts';

// Exit codes: 0 the server answered 2xx; 1 the exchange failed; 2 bad configuration or material.
try {
  const config = readClientConfig(process.env);
  const material = await readMaterial(config.tlsDir);
  const warnings = material.certificate === undefined ? [] : certificateProblems(material.certificate, 'client');
  const result = await exchange(config, material);
  console.log(formatExchange(config, material, warnings, result));
  process.exitCode = result.failure === undefined ? 0 : 1;
} catch (error) {
  if (!(error instanceof ConfigError || error instanceof TlsMaterialError)) throw error;
  console.error(`client: ${error.message}`);
  process.exitCode = 2;
}

/**
 * tls.crt + tls.key + ca.crt, or ca.crt alone: a client without a certificate
 * is allowed to try (and be refused), which is how mTLS is best understood.
 */
async function readMaterial(dir: string): Promise<Trust & Partial<TlsMaterial>> {
  const present = await Promise.all([CERTIFICATE_FILE, KEY_FILE].map((name) => exists(join(dir, name))));
  if (!present[0] && !present[1]) return readTrust(dir);
  return readTlsMaterial(dir);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
