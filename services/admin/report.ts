/** One inventory row as the CA's admin API returns it. */
export interface InventoryRow {
  serial: string;
  identity: string;
  role: string;
  notBefore: string;
  notAfter: string;
  status: string;
  revocationReason: string | null;
}

const COLUMNS: { title: string; value: (row: InventoryRow, now: Date) => string }[] = [
  { title: 'SERIAL', value: (row) => row.serial },
  { title: 'IDENTITY', value: (row) => row.identity },
  { title: 'ROLE', value: (row) => row.role },
  { title: 'NOT BEFORE', value: (row) => row.notBefore },
  { title: 'NOT AFTER', value: (row) => row.notAfter },
  // An issued certificate past its notAfter is not current any more, whatever the database says.
  { title: 'STATUS', value: (row, now) => (row.status !== 'revoked' && new Date(row.notAfter) <= now ? `${row.status}, expired` : row.status) },
  { title: 'REASON', value: (row) => row.revocationReason ?? '' },
];

/** The inventory as an aligned table for people; names come from the CA's database, control characters are escaped. */
export function inventoryTable(rows: readonly InventoryRow[], now: Date): string {
  const cells = [COLUMNS.map((column) => column.title), ...rows.map((row) => COLUMNS.map((column) => printable(column.value(row, now))))];
  const widths = COLUMNS.map((_, index) => Math.max(...cells.map((line) => (line[index] as string).length)));
  return cells.map((line) => line.map((cell, index) => cell.padEnd(widths[index] as number)).join('  ').trimEnd()).join('\n') + '\n';
}

/** What `revoke` did, in one line per fact. */
export function revocationText(answer: { revoked: InventoryRow[]; alreadyRevoked: InventoryRow[]; reason: string; crlNumber: string; tokensSpent: number }, target: string): string {
  const lines = [`revoked ${answer.revoked.length} certificate(s) of ${printable(target)} (reason ${answer.reason})${answer.revoked.length === 0 ? '' : `: ${answer.revoked.map((row) => row.serial).join(', ')}`}`];
  if (answer.alreadyRevoked.length > 0) lines.push(`already revoked before: ${answer.alreadyRevoked.map((row) => row.serial).join(', ')}`);
  if (answer.tokensSpent > 0) lines.push(`unused enrollment tokens spent: ${answer.tokensSpent}`);
  lines.push(`CRL number ${answer.crlNumber} lists them; servers refuse them once their agent fetched it`);
  return lines.join('\n') + '\n';
}

function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
