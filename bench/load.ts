// One load-generator worker: requests GET / against the server until the
// deadline or the request cap, and reports latencies and errors.
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';

export type Mode = 'handshake' | 'keepalive';

export interface LoadJob {
  mode: Mode;
  url: string;
  cert: string;
  key: string;
  ca: string;
  /** Parallel requests in flight (the connection pool size in keepalive mode). */
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
}

async function runLoad(job: LoadJob): Promise<LoadResult> {
  // handshake: a new connection per request, no session resumption, so every
  // request pays a full mutual handshake. keepalive: a fixed pool, reused.
  const agent =
    job.mode === 'handshake'
      ? new https.Agent({ keepAlive: false, maxCachedSessions: 0 })
      : new https.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const result: LoadResult = { completed: 0, errors: 0, firstError: undefined, latenciesMs: [] };
  const start = performance.now();
  const deadline = start + job.durationMs;
  const intervalMs = job.ratePerSecond > 0 ? 1000 / job.ratePerSecond : 0;
  let issued = 0;
  const loop = async () => {
    while (performance.now() < deadline && issued < job.maxRequests) {
      // At a fixed rate both servers see the same load, so their CPU per request compares like for like.
      const due = start + issued * intervalMs;
      issued++;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (performance.now() >= deadline) break;
      const started = performance.now();
      try {
        await get(job, agent);
        result.completed++;
        result.latenciesMs.push(performance.now() - started);
      } catch (error) {
        result.errors++;
        result.firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  agent.destroy();
  return result;
}

function get(job: LoadJob, agent: https.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.get(job.url, { agent, cert: job.cert, key: job.key, ca: job.ca }, (response) => {
      response.resume();
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`))));
    });
    request.on('error', reject);
  });
}

if (parentPort !== null) parentPort.postMessage(await runLoad(workerData as LoadJob));
