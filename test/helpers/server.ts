import https from 'node:https';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/files.ts';
import { CERTIFICATE_MODE } from '../../core/new-file.ts';
import type { Fields, Log } from '../../core/log.ts';
import { readAllowedClients, type ServerConfig } from '../../services/server/config.ts';
import { startServer, type MtlsServer } from '../../services/server/server.ts';
import { loadServerMaterial } from '../../services/server/material.ts';

export interface LogEvent extends Fields {
  level: string;
  event: string;
}

/** A Log that keeps its events in memory, so tests can read what the server said. */
export function memoryLog(): Log & { events: LogEvent[]; waitFor(match: (event: LogEvent) => boolean, from?: number): Promise<LogEvent> } {
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
    /** The first event that matches, from the `from`-th on (what was logged before that is not looked at). */
    waitFor(match, from = 0) {
      const seen = events.slice(from).find(match);
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
  tlsDir: string;
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
  return { ...server, tlsDir, log, url: (host = 'localhost') => `https://${host}:${server.port}/`, [Symbol.asyncDispose]: () => server.close() };
}

/** What a reload brought: whether it took, and the events logged since its files were written. */
export interface Reload {
  /** True: the new material is in force for new connections. False: refused (tls_reload_refused), the old one kept. */
  loaded: boolean;
  /** The first event since the files were written that matches (a reload of the watcher's counts too). */
  logged(match: (event: LogEvent) => boolean): Promise<LogEvent>;
}

/**
 * Puts new material in the server's TLS_DIR (each file replaced atomically, as
 * the PKI and the agent write it; null removes the file), reloads, and resolves
 * once that reload is over: anything the watcher started first is over too.
 */
export async function reloadWith(server: TestServer, files: Readonly<Record<string, string | null>>): Promise<Reload> {
  const from = server.log.events.length;
  for (const [name, data] of Object.entries(files)) {
    if (data === null) await rm(join(server.tlsDir, name));
    else await writeFileAtomic(join(server.tlsDir, name), data, CERTIFICATE_MODE);
  }
  return { loaded: await server.reload(), logged: (match) => server.log.waitFor(match, from) };
}

/** An https.Agent that `using` destroys (its sockets closed) when the test's block ends. */
export function disposableAgent(options: https.AgentOptions): https.Agent & Disposable {
  const agent = new https.Agent(options);
  return Object.assign(agent, { [Symbol.dispose]: () => agent.destroy() });
}
