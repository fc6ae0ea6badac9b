/** The two kinds of connection the loop sends over. */
export type ConnectionKind = 'new' | 'kept-alive';

interface Tally {
  ok: number;
  failed: number;
}

// A long run rotates many times; the summary keeps the latest serials only.
const SERIALS_KEPT = 50;

/** Cumulative counts of the loop's requests, for the `traffic` summary. */
export class Traffic {
  ok = 0;
  failed = 0;
  /** Refused or unresolvable before the server first answered: the server was not up yet, not a failure. */
  waitingForServer = 0;
  /** Ticks that sent nothing because MAX_IN_FLIGHT requests were still waiting for answers. */
  skipped = 0;
  resumedSessions = 0;
  reloads = 0;
  readonly byConnection: Record<ConnectionKind, Tally> = { new: { ok: 0, failed: 0 }, 'kept-alive': { ok: 0, failed: 0 } };
  /** Requests answered per certificate serial: ours, and the server's. */
  readonly servedUnder = { client: new Map<string, number>(), server: new Map<string, number>() };

  succeeded(kind: ConnectionKind, clientSerial: string, serverSerial: string | undefined, resumed: boolean): void {
    this.ok++;
    this.byConnection[kind].ok++;
    if (resumed) this.resumedSessions++;
    count(this.servedUnder.client, clientSerial);
    if (serverSerial !== undefined) count(this.servedUnder.server, serverSerial);
  }

  failedOn(kind: ConnectionKind): void {
    this.failed++;
    this.byConnection[kind].failed++;
  }

  summary(): Record<string, unknown> {
    return {
      ok: this.ok,
      failed: this.failed,
      newConnections: this.byConnection.new,
      keptAlive: this.byConnection['kept-alive'],
      resumedSessions: this.resumedSessions,
      waitingForServer: this.waitingForServer,
      skipped: this.skipped,
      reloads: this.reloads,
      servedUnder: { client: Object.fromEntries(this.servedUnder.client), server: Object.fromEntries(this.servedUnder.server) },
    };
  }
}

function count(map: Map<string, number>, serial: string): void {
  map.set(serial, (map.get(serial) ?? 0) + 1);
  if (map.size > SERIALS_KEPT) map.delete(map.keys().next().value as string);
}
