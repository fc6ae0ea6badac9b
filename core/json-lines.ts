/** Fields of one event, next to its name and time. */
export type EventFields = Record<string, unknown>;

/** Writes one event as one JSON line: what scripts, tests and log collectors read by key. */
export type Emit = (event: string, fields?: EventFields) => void;

/**
 * For programs that say little (an agent, a traffic summary): each line is
 * written whole, at once, so nothing is lost when the process exits right after.
 */
export function jsonLines(stream: NodeJS.WritableStream = process.stdout, clock: () => Date = () => new Date()): Emit {
  return (event, fields) => {
    stream.write(`${JSON.stringify({ event, time: clock().toISOString(), ...fields })}\n`);
  };
}
