import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BadInputError } from '../core/errors.ts';
import { parseSubjectNames, type SubjectName } from '../core/names.ts';
import { DEMO_FOLDERS } from './demo-folders.ts';
import { CURVES, KEY_TYPES, RSA_BITS, type Curve, type KeySpec, type RsaBits } from '../core/key-types.ts';

export type Method = 'method1' | 'method2';

/**
 * What a caller asks for, before validation: the command line parses into
 * this, and the bench and the tests write it directly. Only `method` and `out`
 * have no default.
 */
export interface PkiOptionsInit {
  method?: string;
  out?: string;
  days?: number;
  leafDays?: number;
  keyType?: string;
  keySize?: number;
  curve?: string;
  force?: boolean;
  caName?: string;
  /** Comma-separated, as --server-names takes them. */
  serverNames?: string;
  clientNames?: string;
  withDemoIdentities?: boolean;
}

/** Everything the PKI needs, validated: nothing below this file sees raw flags. */
export interface PkiOptions {
  method: Method;
  out: string;
  /** The CA's validity (method1), or the shared certificate's (method2). */
  days: number;
  /** method1 leaves' validity: shorter than the CA's, so they can be renewed while it lasts. */
  leafDays: number;
  /** What every key of this run is: RSA-2048 unless told otherwise. */
  key: KeySpec;
  force: boolean;
  caName: string;
  serverNames: SubjectName[];
  clientNames: SubjectName[];
  /** Also issue the material of the failure demo (method1 only); never on by default. */
  withDemoIdentities: boolean;
}

/** Bad input: the message is one line that names the flag and the problem. */
export class UsageError extends BadInputError {
  readonly code = 'EUSAGE';
}

export const USAGE = `usage: npm run pki -- --method method1|method2 --out DIR [options]

  --method method1     a private CA signs a server and a client certificate (each from its own key and CSR)
  --method method2     one self-signed certificate, presented and trusted by both sides
  --out DIR            where to write DIR/ca (method1), DIR/server and DIR/client
  --days N             the CA's validity in days, or method2's certificate's (default 365)
  --leaf-days N        method1 leaves' validity in days (default 90, or --days if shorter;
                       leaves never outlast the CA, and are re-issued 30 days before they end)
  --key-type TYPE      rsa (default), ecdsa or ed25519; a rerun with another type re-issues
                       the leaves (the CA keeps its key: --force replaces it too)
  --key-size BITS      RSA key size: 2048 (default), 3072 or 4096
  --curve CURVE        ECDSA curve: P-256 (default) or P-384
  --force              re-issue everything, the CA included
  --ca-name CN         the CA's common name (default selfCA)
  --server-names LIST  the server's DNS names and IPs (default server,localhost,127.0.0.1,::1)
  --client-names LIST  the client's names (default client)
  --with-demo-identities
                       method1 only: also issue the failure demo's client material into
                       DIR/demo-* (no certificate, rogue CA, expired, wrong key usage,
                       not allowed, wrong server name, untrusted server); see the README
  --help               show this text`;

const FLAGS = {
  method: { type: 'string' },
  out: { type: 'string' },
  days: { type: 'string' },
  'leaf-days': { type: 'string' },
  'key-type': { type: 'string' },
  'key-size': { type: 'string' },
  curve: { type: 'string' },
  force: { type: 'boolean' },
  'ca-name': { type: 'string' },
  'server-names': { type: 'string' },
  'client-names': { type: 'string' },
  'with-demo-identities': { type: 'boolean' },
  help: { type: 'boolean', default: false },
} as const;

const DEFAULTS = {
  days: 365,
  keyType: 'rsa',
  caName: 'selfCA',
  serverNames: 'server,localhost,127.0.0.1,::1',
  clientNames: 'client',
} as const;

/** The command line as PkiOptionsInit (undefined when --help was asked for); only its syntax is checked here. */
export function parsePkiArgs(args: string[]): PkiOptionsInit | undefined {
  const { values } = parseFlags(args);
  if (values.help) return undefined;
  const days = (flag: string, value: string | undefined) => wholeNumber(value, () => daysMessage(flag, value));
  return {
    method: values.method,
    out: values.out,
    days: days('--days', values.days),
    leafDays: days('--leaf-days', values['leaf-days']),
    keyType: values['key-type'],
    keySize: wholeNumber(values['key-size'], () => keySizeMessage(values['key-size'])),
    curve: values.curve,
    force: values.force,
    caName: values['ca-name'],
    serverNames: values['server-names'],
    clientNames: values['client-names'],
    withDemoIdentities: values['with-demo-identities'],
  };
}

/** Validates a request and fills in the defaults. Reads no file: whether --out can be written is the run's to find out. */
export function resolvePkiOptions(init: PkiOptionsInit): PkiOptions {
  const method = parseMethod(init.method);
  const withDemoIdentities = init.withDemoIdentities ?? false;
  if (withDemoIdentities && method !== 'method1') throw new UsageError('--with-demo-identities needs --method method1 (the demo fails against its CA)');
  const days = checkDays('--days', init.days ?? DEFAULTS.days);
  return {
    method,
    withDemoIdentities,
    out: parseOut(init.out),
    days,
    leafDays: checkLeafDays(init.leafDays, days),
    key: parseKeySpec(init.keyType ?? DEFAULTS.keyType, init.keySize, init.curve),
    force: init.force ?? false,
    caName: parseCommonName('--ca-name', init.caName ?? DEFAULTS.caName),
    serverNames: parseNames('--server-names', init.serverNames ?? DEFAULTS.serverNames),
    clientNames: parseNames('--client-names', init.clientNames ?? DEFAULTS.clientNames),
  };
}

/** The command line, validated: parsePkiArgs then resolvePkiOptions. */
export function parsePkiOptions(args: string[]): PkiOptions | undefined {
  const init = parsePkiArgs(args);
  return init === undefined ? undefined : resolvePkiOptions(init);
}

function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false });
  } catch (error) {
    // parseArgs explains well ("Unknown option '--dyas'") but adds advice for positionals; keep line one.
    throw new UsageError(firstLine((error as Error).message), { cause: error });
  }
}

/** A flag's digits as a number; anything else is refused with the flag's own message. */
function wholeNumber(value: string | undefined, message: () => string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(message());
  return Number(value);
}

function parseMethod(value: string | undefined): Method {
  if (value === 'method1' || value === 'method2') return value;
  if (value === undefined) throw new UsageError('--method is required (method1 or method2)');
  throw new UsageError(`--method must be method1 or method2, not "${value}"`);
}

function daysMessage(flag: string, value: unknown): string {
  return `${flag} must be a whole number of days greater than 0, not "${String(value)}"`;
}

function checkDays(flag: string, days: number): number {
  if (!Number.isSafeInteger(days) || days <= 0) throw new UsageError(daysMessage(flag, days));
  if (days > 36500) throw new UsageError(`${flag} must be at most 36500 (100 years), not ${days}`);
  return days;
}

function checkLeafDays(value: number | undefined, caDays: number): number {
  if (value === undefined) return Math.min(90, caDays);
  const days = checkDays('--leaf-days', value);
  if (days > caDays) throw new UsageError(`--leaf-days ${days} is longer than --days ${caDays}: a leaf never outlasts its CA`);
  return days;
}

/** --key-size belongs to RSA and --curve to ECDSA: a flag for another key type is a mistake, not a no-op. */
function parseKeySpec(type: string, size: number | undefined, curve: string | undefined): KeySpec {
  const keyType = KEY_TYPES.find((candidate) => candidate === type);
  if (keyType === undefined) throw new UsageError(`--key-type must be one of ${KEY_TYPES.join(', ')}, not "${type}"`);
  if (size !== undefined && keyType !== 'rsa') throw new UsageError(`--key-size is for RSA keys; --key-type ${keyType} has no size to choose`);
  if (curve !== undefined && keyType !== 'ecdsa') throw new UsageError(`--curve is for ECDSA keys, not --key-type ${keyType}`);
  if (keyType === 'rsa') return { type: keyType, rsaBits: parseKeySize(size ?? 2048) };
  if (keyType === 'ecdsa') return { type: keyType, curve: parseCurve(curve ?? 'P-256') };
  return { type: keyType };
}

function keySizeMessage(value: unknown): string {
  return `--key-size must be one of ${RSA_BITS.join(', ')}, not "${String(value)}"`;
}

function parseKeySize(value: number): RsaBits {
  const size = RSA_BITS.find((candidate) => candidate === value);
  if (size === undefined) throw new UsageError(keySizeMessage(value));
  return size;
}

function parseCurve(value: string): Curve {
  const curve = CURVES.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  if (curve === undefined) throw new UsageError(`--curve must be one of ${CURVES.join(', ')}, not "${value}"`);
  return curve;
}

function parseCommonName(flag: string, value: string): string {
  if (value.trim() === '' || value.length > 64) throw new UsageError(`${flag} must be 1 to 64 characters`);
  return value.trim();
}

function parseNames(flag: string, value: string): SubjectName[] {
  try {
    return parseSubjectNames(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`, { cause: error });
  }
}

function parseOut(value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError('--out DIR is required');
  return resolve(value);
}

/** The folders a method writes under --out. */
const FOLDERS: Record<Method, string[]> = { method1: ['ca', 'server', 'client'], method2: ['server', 'client'] };

/** Every folder a run writes under --out, in a fixed order. */
export function foldersOf(method: Method, withDemoIdentities: boolean): string[] {
  return [...FOLDERS[method], ...(withDemoIdentities ? DEMO_FOLDERS : [])];
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
