// The admin one-shot: enrolls (once) as an admin identity, then revokes or lists.
import { CaError } from '../agent/ca-client.ts';
import { ConfigError, integerSetting, requiredSetting } from '../../core/config-error.ts';
import { adminCall } from './api.ts';
import { parseAdminCommand, USAGE } from './command.ts';
import { adminCredentials } from './credentials.ts';
import { inventoryTable, revocationText, type InventoryRow } from './report.ts';
import { exitCodeOf, MtlsError } from '../../core/errors.ts';

// Exit codes: 0 done; 1 the CA refused or could not be reached; 2 bad command line or configuration.
try {
  const command = parseAdminCommand(process.argv.slice(2));
  if (command.name === 'help') {
    console.log(USAGE);
  } else {
    const ca = { url: readCaUrl(process.env['CA_URL']), timeoutMs: integerSetting(process.env, 'CA_TIMEOUT_MS', 5000, 100, 120_000) };
    const dir = requiredSetting(process.env, 'ADMIN_DIR', '/admin');
    const { material, event } = await adminCredentials(dir, ca, new Date());
    if (event !== 'kept') console.error(`admin: ${event} as ${material.certificate.subject.trim()} (serial ${material.certificate.serialNumber}, until ${material.certificate.validToDate.toISOString()})`);
    if (command.name === 'list') {
      const answer = await adminCall(ca, material, '/admin/certificates');
      const rows = answer['certificates'] as InventoryRow[];
      process.stdout.write(command.json ? `${JSON.stringify({ certificates: rows })}\n` : inventoryTable(rows, new Date()));
    } else {
      const answer = await adminCall(ca, material, '/admin/revoke', { ...command.target, reason: command.reason });
      const target = 'identity' in command.target ? command.target.identity : `serial ${command.target.serial}`;
      process.stdout.write(command.json ? `${JSON.stringify(answer)}\n` : revocationText(answer as unknown as Parameters<typeof revocationText>[0], target));
    }
  }
} catch (error) {
  const known = error instanceof MtlsError;
  process.exitCode = exitCodeOf(error);
  const code = error instanceof CaError ? ` (${error.code})` : '';
  console.error(`admin: ${known ? (error as Error).message : String(error)}${code}${error instanceof ConfigError ? `\n${USAGE}` : ''}`);
}

function readCaUrl(raw: string | undefined): URL {
  const value = raw === undefined || raw === '' ? 'https://ca:9000/' : raw;
  try {
    const url = new URL(value);
    if (url.protocol === 'https:') return url;
  } catch {
    // falls through to the one error below
  }
  throw new ConfigError(`CA_URL must be an https:// URL such as https://ca:9000/, not "${value}"`);
}
