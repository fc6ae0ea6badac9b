import type { Log } from './log.ts';

export interface StopOptions {
  /** The signals that stop the process (a repeat while stopping is ignored). */
  signals: readonly NodeJS.Signals[];
  /** How long `close` lets in-flight work finish; the process kills itself a margin after that. */
  graceMs: number;
  /** Where shutting_down, stopped, stop_failed and stop_forced are logged. */
  log: Log;
  /** Stops accepting and lets in-flight work finish, within `graceMs`. */
  close: () => Promise<void>;
}

// Time for close() to return once its grace period is over (connections ended, a database closed).
const FORCED_STOP_MARGIN_MS = 2000;

/**
 * Stops the process cleanly on the given signals: PID 1 in a container gets no
 * default signal handling, so without this a container ignores `docker stop`
 * until Docker kills it.
 */
export function stopOnSignals(options: StopOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.log.info('shutting_down', { signal });
    forceStopAfter(options.graceMs + FORCED_STOP_MARGIN_MS, options.log);
    options.close().then(
      // Nothing is left to keep the process alive: it ends by itself, with the output written out.
      () => {
        options.log.info('stopped');
        options.log.flush();
      },
      // A close that failed may have left a listener or a file open: end now, saying so.
      (error: unknown) => {
        options.log.error('stop_failed', { message: String(error).split('\n')[0] });
        options.log.flush();
        process.exit(1);
      },
    );
  };
  for (const signal of options.signals) process.on(signal, () => stop(signal));
}

/**
 * Whatever still holds the process (a stuck close, an fsync or a read blocked on
 * libuv's thread pool) does not outlive the grace period. Not process.exit(): it
 * waits for libuv's worker threads, and one blocked in a read never returns.
 * SIGKILL cannot be caught or waited on; the log line is out first (stdout to a
 * pipe or file is written synchronously). The timer is unref'd: a process that
 * stopped cleanly ends without waiting for it.
 */
function forceStopAfter(afterMs: number, log: Log): void {
  setTimeout(() => {
    log.error('stop_forced', { afterMs });
    log.flush();
    process.kill(process.pid, 'SIGKILL');
  }, afterMs).unref();
}
