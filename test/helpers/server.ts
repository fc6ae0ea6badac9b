import https from 'node:https';
import type { Fields, Log } from '../../core/log.ts';
import { readAllowedClients, type ServerConfig } from '../../services/server/config.ts';
import { startServer, type MtlsServer } from '../../services/server/server.ts';
import { loadServerMaterial } from '../../services/server/material.ts';

export interface LogEvent extends Fields {
  level: string;
  event: string;
}

/** A Log that keeps its events in memory, so tests can read what the server said. */
export function memoryLog(): Log & { events: LogEvent[]; waitFor(match: (event: LogEvent) => boolean): Promise<LogEvent> } {
  const events: LogEvent[] = [];
  const waiters: { match: (event: LogEvent) => boolean; resolve: (event: LogEvent) => void }[] = [];
  const record = (level: string) => (event: string, fields?: Fields) => {
    const entry = { level, event, ...fields };
    events.push(entry);
    for (const waiter of [...waiters]) {
      if (waiter.match(entry)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    }
  };
  return {
    events,
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    flush: () => undefined,
    waitFor(match) {
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve };
        waiters.push(waiter);
        setTimeout(() => {
          if (waiters.includes(waiter)) reject(new Error(`no matching log event in 5 s; saw ${JSON.stringify(events)}`));
        }, 5000).unref();
      });
    },
  };
}

export interface TestServer extends MtlsServer, AsyncDisposable {
  log: ReturnType<typeof memoryLog>;
  url(host?: string): string;
}

/** Our real server, in process, on an ephemeral loopback port. */
export async function startTestServer(
  tlsDir: string,
  allowedClients?: string[],
  host = '127.0.0.1',
  settings: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const log = memoryLog();
  const material = await loadServerMaterial(tlsDir);
  const config = { tlsDir, port: 0, host, allowedClients: readAllowedClients(allowedClients?.join(',')), healthPort: undefined, shutdownGraceMs: 1000, maxConnectionAgeMs: 60_000, ...settings };
  const server = await startServer(config, material, log);
  // `await using server = await startTestServer(…)` closes it when the test's block ends, however it ends.
  return { ...server, log, url: (host = 'localhost') => `https://${host}:${server.port}/`, [Symbol.asyncDispose]: () => server.close() };
}

/** An https.Agent that `using` destroys (its sockets closed) when the test's block ends. */
export function disposableAgent(options: https.AgentOptions): https.Agent & Disposable {
  const agent = new https.Agent(options);
  return Object.assign(agent, { [Symbol.dispose]: () => agent.destroy() });
}
