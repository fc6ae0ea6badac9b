import { ConfigError } from '../../core/config-error.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../core/crl.ts';

export type AdminCommand =
  | { name: 'revoke'; target: { identity: string } | { serial: string }; reason: RevocationReason; json: boolean }
  | { name: 'list'; json: boolean }
  | { name: 'help' };

export const USAGE = `usage: admin <command>
  revoke IDENTITY [--reason R] [--json]      revoke every unexpired certificate of IDENTITY
  revoke --serial HEX [--reason R] [--json]  revoke one certificate
  list [--json]                              the CA's inventory: serial, identity, role, validity, status
reasons: ${Object.keys(REVOCATION_REASONS).join(', ')} (default unspecified)
environment: CA_URL (https://ca:9000/), ADMIN_DIR (/admin: token, ca.crt; the admin's certificate is kept there)`;

/** Parses the command line; ConfigError (exit 2) for anything else. */
export function parseAdminCommand(args: readonly string[]): AdminCommand {
  const [name, ...rest] = args;
  if (name === undefined || name === 'help' || name === '--help') return { name: 'help' };
  const json = rest.includes('--json');
  const words = rest.filter((word) => word !== '--json');
  if (name === 'list') {
    if (words.length > 0) throw new ConfigError(`list takes only --json, not "${words.join(' ')}"`);
    return { name, json };
  }
  if (name !== 'revoke') throw new ConfigError(`unknown command "${name}"`);
  let reason: RevocationReason = 'unspecified';
  let serial: string | undefined;
  const positional: string[] = [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] as string;
    if (word === '--reason' || word === '--serial') {
      const value = words[(index += 1)];
      if (value === undefined) throw new ConfigError(`${word} needs a value`);
      if (word === '--serial') serial = value;
      else if (Object.hasOwn(REVOCATION_REASONS, value)) reason = value as RevocationReason;
      else throw new ConfigError(`--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}, not "${value}"`);
    } else if (word.startsWith('--')) throw new ConfigError(`unknown option "${word}"`);
    else positional.push(word);
  }
  if ((serial === undefined) === (positional.length !== 1) || positional.length > 1) {
    throw new ConfigError('revoke needs one IDENTITY, or --serial HEX');
  }
  return { name, target: serial === undefined ? { identity: positional[0] as string } : { serial }, reason, json };
}
