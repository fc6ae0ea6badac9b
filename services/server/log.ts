/** One structured event: a JSON object on one line of stdout. */
export type Fields = Record<string, unknown>;

export interface Log {
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
}

/**
 * JSON lines on a stream. Each line is built once with JSON.stringify and
 * written whole, so lines from concurrent requests never interleave.
 */
export function jsonLog(stream: NodeJS.WritableStream = process.stdout): Log {
  const write = (level: string, event: string, fields: Fields | undefined) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
  };
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
  };
}
