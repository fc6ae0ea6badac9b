// One error model: every refusal is an MtlsError with a name, a stable code,
// the exit code an entry point ends with, and the error it wraps as its cause.
import assert from 'node:assert/strict';
import { mkdtempDisposable, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../core/config-error.ts';
import { CsrError, parseCsr } from '../core/csr.ts';
import { exitCodeOf, MtlsError } from '../core/errors.ts';
import { KeyTypeError } from '../core/key-types.ts';
import { readKeyPair, readTlsMaterial, TlsMaterialError } from '../core/tls-material.ts';
import { X509Error } from '../core/x509-parts.ts';
import { UnsafePathError } from '../core/files.ts';
import { CaMaterialError } from '../pki/issue.ts';
import { LockBusyError } from '../pki/lock.ts';
import { parsePkiOptions, UsageError } from '../pki/options.ts';

describe('errors', () => {
  const kinds = [
    [ConfigError, 'ECONFIG', 2],
    [UsageError, 'EUSAGE', 2],
    [TlsMaterialError, 'ETLSMATERIAL', 1],
    [CaMaterialError, 'ECAMATERIAL', 1],
    [UnsafePathError, 'EUNSAFEPATH', 1],
    [LockBusyError, 'ELOCKED', 1],
    [CsrError, 'ECSR', 1],
    [X509Error, 'EX509', 1],
    [KeyTypeError, 'EKEYTYPE', 1],
  ] as const;
  for (const [Kind, code, exitCode] of kinds) {
    it(`${Kind.name}: an MtlsError named ${Kind.name}, code ${code}, exit ${exitCode}`, () => {
      const error = Kind === TlsMaterialError ? new TlsMaterialError('/x/tls.crt', 'missing') : new (Kind as new (message: string) => MtlsError)('one line');
      assert.ok(error instanceof MtlsError);
      assert.equal(error.name, Kind.name);
      assert.equal(error.code, code);
      assert.equal(error.exitCode, exitCode);
      assert.equal(exitCodeOf(error), exitCode);
    });
  }

  it('anything else exits 1', () => {
    assert.equal(exitCodeOf(new Error('boom')), 1);
    assert.equal(exitCodeOf('a string'), 1);
  });

  it('a wrapped error keeps the original as its cause: a file that cannot be read', async () => {
    await using temporary = await mkdtempDisposable(join(tmpdir(), 'mtls-errors-'));
    const error = await readTlsMaterial(temporary.path).catch((caught: unknown) => caught);
    assert.ok(error instanceof TlsMaterialError);
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
  });

  it('a wrapped error keeps the original as its cause: a certificate that does not parse', async () => {
    await using temporary = await mkdtempDisposable(join(tmpdir(), 'mtls-errors-'));
    const dir = temporary.path;
    await writeFile(join(dir, 'c.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const error = await readKeyPair(dir, 'c.pem', 'c.pem').catch((caught: unknown) => caught);
    assert.ok(error instanceof TlsMaterialError, String(error));
    assert.equal(error.problem, 'holds a PEM block that is not a valid certificate');
    assert.ok(error.cause instanceof Error);
  });

  it('a CSR refusal is a CsrError whose cause is the parser\'s error', () => {
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from('not DER').toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const error = (() => {
      try {
        return parseCsr(pem);
      } catch (caught) {
        return caught;
      }
    })();
    assert.ok(error instanceof CsrError);
    assert.match(error.message, /^not a valid certificate request/);
    assert.ok(error.cause instanceof Error);
  });

  it('a bad flag is a UsageError whose cause is parseArgs\' error', () => {
    assert.throws(
      () => parsePkiOptions(['--dyas', '3']),
      (error: unknown) => error instanceof UsageError && error.message === "Unknown option '--dyas'" && (error.cause as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    );
  });
});
