import { chmodSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { RevocationReason } from '../../core/crl.ts';
import type { CaRole } from './roles.ts';

export type IssuedVia = 'self' | 'enroll' | 'renew';
export type CertificateStatus = 'issued' | 'superseded' | 'revoked';

/** One row of the inventory: every certificate this CA ever signed. */
export interface CertificateRecord {
  serial: string;
  identity: string;
  role: CaRole;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER): tells a new key from a new serial. */
  keyFingerprint256: string;
  /** SHA-256 of the certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
  status: CertificateStatus;
  issuedAt: string;
  issuedVia: IssuedVia;
  /** The serial of the certificate presented to renew, for renewals. */
  renewedFrom: string | null;
  /** When and why it was revoked (status `revoked`), else null. */
  revokedAt: string | null;
  revocationReason: RevocationReason | null;
}

/** An enrollment token as stored: only its hash, never the token. */
export interface TokenRecord {
  hash: string;
  identity: string;
  role: CaRole;
  createdAt: string;
  expires: string;
  usedAt: string | null;
}

// Times are ISO 8601 UTC strings from Date#toISOString: they sort as they compare,
// and stay readable with the sqlite3 shell.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS certificates (
  serial TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('server', 'client', 'admin')),
  not_before TEXT NOT NULL,
  not_after TEXT NOT NULL,
  key_fingerprint256 TEXT NOT NULL,
  fingerprint256 TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('issued', 'superseded', 'revoked')),
  issued_at TEXT NOT NULL,
  issued_via TEXT NOT NULL CHECK (issued_via IN ('self', 'enroll', 'renew')),
  renewed_from TEXT REFERENCES certificates (serial),
  pem TEXT,
  revoked_at TEXT,
  revocation_reason TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS certificates_by_key ON certificates (key_fingerprint256);
CREATE INDEX IF NOT EXISTS certificates_by_identity ON certificates (identity, not_after);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY,
  identity TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('server', 'client', 'admin')),
  created_at TEXT NOT NULL,
  expires TEXT NOT NULL,
  used_at TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS crl_numbers (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last INTEGER NOT NULL
) STRICT;
`;

// Columns added after the first release: a database made before them gains them on open.
// Columns newer than the first schema: databases made before them get them on open (their older rows stay without).
const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  { table: 'certificates', column: 'pem', type: 'TEXT' },
  { table: 'certificates', column: 'revoked_at', type: 'TEXT' },
  { table: 'certificates', column: 'revocation_reason', type: 'TEXT' },
];

type Row = Record<string, unknown>;

/** The CA's inventory and its enrollment tokens, in one SQLite file. */
export class CaDatabase {
  readonly #db: DatabaseSync;
  readonly #path: string;
  // Compiled once per SQL text: preparing a statement cost more than running it.
  readonly #statements = new Map<string, StatementSync>();
  #wal: FileHandle | undefined;
  #syncing: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(path: string) {
    this.#path = path;
    this.#db = new DatabaseSync(path);
    chmodSync(path, 0o600);
    // WAL: readers never wait for the writer, and a commit appends to the log
    // instead of rewriting pages. synchronous=NORMAL: a commit does not wait
    // for the disk (measured here: 2 ms of CPU per commit in fsync, blocking
    // every connection meanwhile); flush() makes commits durable instead.
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    this.#db.exec(SCHEMA);
    this.#addMissingColumns();
  }

  #addMissingColumns(): void {
    for (const { table, column, type } of ADDED_COLUMNS) {
      const columns = this.#db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all().map((row) => row['name']);
      if (!columns.includes(column)) this.#db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
  }

  async close(): Promise<void> {
    await this.#syncing;
    await this.#queued;
    this.#db.close();
    await this.#wal?.close();
  }

  /**
   * Resolves once every transaction committed before the call is on disk: an
   * fdatasync of the write-ahead log, on libuv's thread pool (the event loop goes
   * on serving), shared by every caller that arrives while one is under way.
   * The CA answers only after it, so a token it called spent stays spent, and a
   * certificate it handed out stays in the inventory, even after a power cut.
   */
  flush(): Promise<void> {
    if (this.#syncing === undefined) {
      this.#syncing = this.#syncWal().finally(() => {
        this.#syncing = undefined;
      });
      return this.#syncing;
    }
    // The fsync under way may have started before this caller's commit: the next one covers it.
    this.#queued ??= this.#syncing.then(() => {
      this.#queued = undefined;
      return this.flush();
    });
    return this.#queued;
  }

  async #syncWal(): Promise<void> {
    // The log exists from the first write on, and stays (the same file) while a connection is open.
    this.#wal ??= await open(`${this.#path}-wal`, 'r');
    // fdatasync, as SQLite itself syncs its log: the data and what finding it needs (the
    // size), not the timestamps. Measured here: about 0.2 ms less CPU per renewal than fsync.
    await this.#wal.datasync();
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in one write transaction: all of it is stored, or none. */
  transaction<T>(work: () => T): T {
    this.#prepare('BEGIN IMMEDIATE').run();
    try {
      const result = work();
      this.#prepare('COMMIT').run();
      return result;
    } catch (error) {
      this.#prepare('ROLLBACK').run();
      throw error;
    }
  }

  insertToken(token: TokenRecord): void {
    this.#prepare('INSERT INTO tokens (hash, identity, role, created_at, expires, used_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(token.hash, token.identity, token.role, token.createdAt, token.expires, token.usedAt);
  }

  /** Spends every unused token of this identity: a new init for it replaces them. */
  spendUnusedTokens(identity: string, now: Date): number {
    return Number(this.#prepare('UPDATE tokens SET used_at = ? WHERE identity = ? AND used_at IS NULL').run(now.toISOString(), identity).changes);
  }

  findToken(hash: string): TokenRecord | undefined {
    const row = this.#prepare('SELECT * FROM tokens WHERE hash = ?').get(hash);
    return row === undefined ? undefined : toToken(row);
  }

  /** Marks the token used if it is still unused and unexpired; false if another request got there first. */
  spendToken(hash: string, now: Date): boolean {
    const at = now.toISOString();
    const result = this.#prepare('UPDATE tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires > ?').run(at, hash, at);
    return result.changes === 1;
  }

  /** `pem` is kept for renewals, so that a retry whose answer was lost gets the same certificate again. */
  insertCertificate(record: CertificateRecord, pem: string | null = null): void {
    this.#prepare(
        `INSERT INTO certificates (serial, identity, role, not_before, not_after, key_fingerprint256, fingerprint256,
           status, issued_at, issued_via, renewed_from, pem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.serial,
        record.identity,
        record.role,
        record.notBefore,
        record.notAfter,
        record.keyFingerprint256,
        record.fingerprint256,
        record.status,
        record.issuedAt,
        record.issuedVia,
        record.renewedFrom,
        pem,
      );
  }

  findCertificate(fingerprint256: string): CertificateRecord | undefined {
    const row = this.#prepare('SELECT * FROM certificates WHERE fingerprint256 = ?').get(fingerprint256);
    return row === undefined ? undefined : toCertificate(row);
  }

  /** Whether any certificate of this CA ever carried this public key. */
  keyCertified(keyFingerprint256: string): boolean {
    return this.#prepare('SELECT 1 FROM certificates WHERE key_fingerprint256 = ? LIMIT 1').get(keyFingerprint256) !== undefined;
  }

  /** False when the certificate was no longer `issued` (superseded or revoked meanwhile). */
  markSuperseded(serial: string): boolean {
    return this.#prepare("UPDATE certificates SET status = 'superseded' WHERE serial = ? AND status = 'issued'").run(serial).changes === 1;
  }

  /** The certificate of this key (a key is certified once), with its PEM when it was kept. */
  certifiedKey(keyFingerprint256: string): { record: CertificateRecord; pem: string | null } | undefined {
    const row = this.#prepare('SELECT * FROM certificates WHERE key_fingerprint256 = ? ORDER BY rowid LIMIT 1').get(keyFingerprint256);
    return row === undefined ? undefined : { record: toCertificate(row), pem: (row['pem'] as string | null) ?? null };
  }

  /** The certificate that renewed this one, with its PEM when it was kept. */
  successorOf(serial: string): { record: CertificateRecord; pem: string | null } | undefined {
    const row = this.#prepare('SELECT * FROM certificates WHERE renewed_from = ? ORDER BY rowid LIMIT 1').get(serial);
    return row === undefined ? undefined : { record: toCertificate(row), pem: (row['pem'] as string | null) ?? null };
  }

  /** The identity's certificate that is valid longest, if one is valid at `now` and not revoked. */
  currentCertificate(identity: string, now: Date): CertificateRecord | undefined {
    const at = now.toISOString();
    const row = this.#prepare(
      `SELECT * FROM certificates WHERE identity = ? AND status != 'revoked' AND not_before <= ? AND not_after > ?
       ORDER BY not_after DESC LIMIT 1`,
    ).get(identity, at, at);
    return row === undefined ? undefined : toCertificate(row);
  }

  /**
   * Marks a certificate revoked, once: the first revocation's time and reason
   * stay. False when it was already revoked.
   */
  revoke(serial: string, reason: RevocationReason, at: Date): boolean {
    const result = this.#prepare("UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? WHERE serial = ? AND status != 'revoked'")
      .run(at.toISOString(), reason, serial);
    return result.changes === 1;
  }

  findBySerial(serial: string): CertificateRecord | undefined {
    const row = this.#prepare('SELECT * FROM certificates WHERE serial = ? COLLATE NOCASE').get(serial);
    return row === undefined ? undefined : toCertificate(row);
  }

  /** The identity's certificates that have not expired at `now`, whatever their status (a superseded one still works until it expires). */
  unexpiredCertificates(identity: string, now: Date): CertificateRecord[] {
    return this.#prepare('SELECT * FROM certificates WHERE identity = ? AND not_after > ? ORDER BY issued_at, rowid').all(identity, now.toISOString()).map(toCertificate);
  }

  /** Whether this CA ever certified the identity. */
  knowsIdentity(identity: string): boolean {
    return this.#prepare('SELECT 1 FROM certificates WHERE identity = ? LIMIT 1').get(identity) !== undefined;
  }

  /** Revoked certificates not yet expired at `now`: what a CRL must list (an expired one is refused anyway). */
  revokedUnexpired(now: Date): CertificateRecord[] {
    return this.#prepare("SELECT * FROM certificates WHERE status = 'revoked' AND not_after > ? ORDER BY revoked_at, rowid")
      .all(now.toISOString())
      .map(toCertificate);
  }


  /** The next CRL number: one more than the last one published, kept across restarts. */
  nextCrlNumber(): bigint {
    const row = this.#prepare('INSERT INTO crl_numbers (id, last) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET last = last + 1 RETURNING last').get();
    return BigInt(row?.['last'] as number);
  }

  /** Every certificate, oldest first. */
  certificates(): CertificateRecord[] {
    return this.#prepare('SELECT * FROM certificates ORDER BY issued_at, rowid').all().map(toCertificate);
  }
}

function toCertificate(row: Row): CertificateRecord {
  return {
    serial: row['serial'] as string,
    identity: row['identity'] as string,
    role: row['role'] as CaRole,
    notBefore: row['not_before'] as string,
    notAfter: row['not_after'] as string,
    keyFingerprint256: row['key_fingerprint256'] as string,
    fingerprint256: row['fingerprint256'] as string,
    status: row['status'] as CertificateStatus,
    issuedAt: row['issued_at'] as string,
    issuedVia: row['issued_via'] as IssuedVia,
    renewedFrom: (row['renewed_from'] as string | null) ?? null,
    revokedAt: (row['revoked_at'] as string | null) ?? null,
    revocationReason: (row['revocation_reason'] as RevocationReason | null) ?? null,
  };
}

function toToken(row: Row): TokenRecord {
  return {
    hash: row['hash'] as string,
    identity: row['identity'] as string,
    role: row['role'] as CaRole,
    createdAt: row['created_at'] as string,
    expires: row['expires'] as string,
    usedAt: (row['used_at'] as string | null) ?? null,
  };
}
