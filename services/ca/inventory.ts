import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../../core/log.ts';
import { AuthorityError, DATABASE_FILE } from './authority.ts';
import { CaDatabase } from './database.ts';

/** `inventory`: every certificate the CA signed, oldest first, one JSON line each. */
export async function printInventory(caDir: string, log: Log): Promise<void> {
  const path = join(caDir, DATABASE_FILE);
  if (!existsSync(path)) throw new AuthorityError(`${path} does not exist: run "init" first`);
  const db = new CaDatabase(path);
  try {
    for (const record of db.certificates()) log.info('certificate', { ...record });
  } finally {
    await db.close();
  }
}
