/** Lets a few events of each kind through in each window, and counts the rest. */
export interface RateLimit<Kind> {
  /** Whether this event (`key` names its kind, `kind` describes it) may be logged; if not, it is counted. */
  allow(key: string, kind: Kind): boolean;
  /** Reports what was counted and stops the window timer. */
  stop(): void;
}

// A flood from many addresses must not grow the table without bound: past
// this many kinds in one window, the rest are counted together.
const MAX_KINDS = 10_000;
const OTHER_KINDS = '(other)';

export function rateLimit<Kind>(perWindow: number, windowMs: number, other: Kind, suppressed: (kind: Kind, count: number) => void): RateLimit<Kind> {
  const windows = new Map<string, { kind: Kind; allowed: number; suppressed: number }>();
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    timer = undefined;
    for (const counts of windows.values()) if (counts.suppressed > 0) suppressed(counts.kind, counts.suppressed);
    windows.clear();
  };
  return {
    allow(key, kind) {
      const known = windows.has(key) || windows.size < MAX_KINDS;
      const slot = known ? key : OTHER_KINDS;
      const counts = windows.get(slot) ?? { kind: known ? kind : other, allowed: 0, suppressed: 0 };
      windows.set(slot, counts);
      timer ??= setTimeout(report, windowMs).unref();
      if (counts.allowed < perWindow) {
        counts.allowed += 1;
        return true;
      }
      counts.suppressed += 1;
      return false;
    },
    stop() {
      clearTimeout(timer);
      report();
    },
  };
}
