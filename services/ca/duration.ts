const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "15s", "2m", "1h", "7d" in milliseconds; undefined when the text is not one of these. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(s|m|h|d)$/.exec(text.trim());
  if (match === null) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** The largest whole unit that divides the duration exactly: 120000 -> "2m", 90000 -> "90s". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
