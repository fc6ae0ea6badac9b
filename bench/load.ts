// One load-generator worker: requests GET / against the server until the
// deadline or the request cap, and reports latencies and errors.
//
// It speaks HTTP/1.1 over node:tls sockets directly (a prebuilt request, a
// response read up to its Content-Length), not through node:https: at
// saturation on a small machine the client competes with the server for the
// cores, and node:https costs the client several times what it costs the server.
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TLSSocket } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

export type Mode = 'handshake' | 'keepalive' | 'resume';

export interface LoadJob {
  mode: Mode;
  url: string;
  cert: string;
  key: string;
  ca: string;
  /** Parallel requests in flight (one connection each). */
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  /** Requests per second this worker aims for (open loop); 0 means as fast as it can (closed loop). */
  ratePerSecond: number;
}

export interface LoadResult {
  completed: number;
  errors: number;
  firstError: string | undefined;
  latenciesMs: number[];
  /** Requests whose connection resumed a TLS session (an abbreviated handshake). */
  resumed: number;
}

class ResponseError extends Error {
  code = 'BAD_RESPONSE';
}

/** The newest TLS session this worker got, offered by every new connection in resume mode (as node:https's agent does). */
interface Sessions {
  latest: Buffer | undefined;
}

/**
 * One client connection slot. handshake: a new connection per request, no
 * session resumption, so every request pays a full mutual handshake. resume: a
 * new connection per request, offering the worker's newest TLS session.
 * keepalive: one connection, reused for request after request.
 */
class Slot {
  #job: LoadJob;
  #sessions: Sessions;
  #target: URL;
  #socket: TLSSocket | undefined;
  #request: string;

  constructor(job: LoadJob, sessions: Sessions) {
    this.#job = job;
    this.#sessions = sessions;
    this.#target = new URL(job.url);
    const close = job.mode === 'keepalive' ? '' : 'Connection: close\r\n';
    this.#request = `GET ${this.#target.pathname} HTTP/1.1\r\nHost: ${this.#target.host}\r\n${close}\r\n`;
  }

  /** Sends one request and reads its response; resolves with whether the connection was resumed. */
  async request(): Promise<boolean> {
    const socket = this.#socket ?? (await this.#connect());
    const resumed = socket.isSessionReused();
    const keep = await exchange(socket, this.#request);
    if (this.#job.mode !== 'keepalive' || !keep) this.close();
    return resumed;
  }

  close(): void {
    this.#socket?.end();
    this.#socket = undefined;
  }

  #connect(): Promise<TLSSocket> {
    const { cert, key, ca, mode } = this.#job;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.#target.hostname, port: Number(this.#target.port), cert, key, ca, session: mode === 'resume' ? this.#sessions.latest : undefined }, () => {
        socket.off('error', reject);
        this.#socket = socket;
        resolve(socket);
      });
      // TLS 1.3 tickets come after the handshake; keep the newest for the next connection.
      if (mode === 'resume') socket.on('session', (session: Buffer) => (this.#sessions.latest = session));
      socket.once('error', reject);
    });
  }
}

/** Writes the request, reads one response; resolves with whether the server keeps the connection open. */
function exchange(socket: TLSSocket, request: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let head = '';
    let bodyLeft = -1;
    let keep = true;
    const done = (error?: Error) => {
      socket.off('data', onData);
      socket.off('error', done);
      socket.off('end', onEnd);
      if (error === undefined) resolve(keep);
      else reject(error);
    };
    const onEnd = () => done(new ResponseError('connection closed before the response was complete'));
    const onData = (chunk: Buffer) => {
      if (bodyLeft < 0) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 200 ')) return done(new ResponseError(head.slice(0, head.indexOf('\r\n'))));
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length === null) return done(new ResponseError('response without Content-Length'));
        keep = !/\r\nconnection: *close/i.test(head.slice(0, end));
        bodyLeft = Number(length[1]) - (head.length - end - 4);
      } else {
        bodyLeft -= chunk.length;
      }
      if (bodyLeft <= 0) done();
    };
    socket.on('data', onData);
    socket.once('error', done);
    socket.once('end', onEnd);
    socket.write(request);
  });
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  const result: LoadResult = { completed: 0, errors: 0, firstError: undefined, latenciesMs: [], resumed: 0 };
  const start = performance.now();
  const deadline = start + job.durationMs;
  const intervalMs = job.ratePerSecond > 0 ? 1000 / job.ratePerSecond : 0;
  let issued = 0;
  const sessions: Sessions = { latest: undefined };
  /** Requests one after another until the deadline, the cap, or `count` of them. */
  const loop = async (count = Number.POSITIVE_INFINITY) => {
    const slot = new Slot(job, sessions);
    for (let sent = 0; sent < count && performance.now() < deadline && issued < job.maxRequests; sent++) {
      // At a fixed rate both servers see the same load, so their CPU per request compares like for like.
      const due = start + issued * intervalMs;
      issued++;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (performance.now() >= deadline) break;
      const started = performance.now();
      try {
        if (await slot.request()) result.resumed++;
        result.completed++;
        result.latenciesMs.push(performance.now() - started);
      } catch (error) {
        slot.close();
        result.errors++;
        result.firstError ??= String(error);
      }
    }
    slot.close();
  };
  // In resume mode one connection goes first, so that the others find a session
  // to resume instead of all starting with a full handshake at once.
  if (job.mode === 'resume') await loop(1);
  await Promise.all(Array.from({ length: job.concurrency }, () => loop()));
  return result;
}

if (parentPort !== null) parentPort.postMessage(await runLoad(workerData as LoadJob));
