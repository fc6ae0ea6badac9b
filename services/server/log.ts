/** One structured event: a JSON object on one line of stdout. */
export type Fields = Record<string, unknown>;

export interface Log {
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
  /** Writes out whatever is buffered, now (before the process exits). */
  flush(): void;
}

/**
 * JSON lines on a stream. Each line is built once with JSON.stringify; lines
 * are batched and written once per turn of the event loop, so a busy server
 * makes one write for many requests instead of one each (stdout to a file or
 * pipe is a synchronous write on Linux).
 */
export function jsonLog(stream: NodeJS.WritableStream = process.stdout): Log {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const batch = pending.join('');
    pending = [];
    stream.write(batch);
  };
  const write = (level: string, event: string, fields: Fields | undefined) => {
    pending.push(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    flush,
  };
}
