// What demo/run.sh gathered from the containers into a folder: their
// output as files. Everything is read as JSON, by key: the PKI's --json
// report, the client's OUTPUT=json document, the server's JSON log lines.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExchangeDocument } from '../services/client/report-json.ts';
import type { PkiDocument } from '../pki/report.ts';

/** One line of the server's log. */
export type ServerEvent = Record<string, unknown>;

/** A one-shot client container: how it ended, and what it printed. */
export interface ClientRun {
  /** Its exit code; 'created' when Compose created it but never started it; 'missing' when there is none. */
  exit: number | 'created' | 'missing';
  /** Its JSON document; undefined when it printed none (e.g. bad configuration). */
  document: ExchangeDocument | undefined;
}

/** A file of the folder, or undefined when the shell wrote none. */
export async function readOptional(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Every line of the output that is a JSON object; other lines (a warning on stderr) are not ours to read. */
export function jsonLines(output: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      objects.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut short (a container killed mid-write) says nothing reliable.
    }
  }
  return objects;
}

/** The last JSON document in a container's output. */
function lastDocument<T>(output: string | undefined): T | undefined {
  return output === undefined ? undefined : (jsonLines(output).at(-1) as T | undefined);
}

/** The PKI's report, from `<name>.out`. */
export async function readPkiReport(dir: string, name = 'pki'): Promise<PkiDocument | undefined> {
  return lastDocument<PkiDocument>(await readOptional(dir, `${name}.out`));
}

/** The server's log, from `<name>.log`. */
export async function readServerLog(dir: string, name = 'server'): Promise<ServerEvent[]> {
  return jsonLines((await readOptional(dir, `${name}.log`)) ?? '');
}

/** A client container's run, from `<name>.exit` and `<name>.out`. */
export async function readClientRun(dir: string, name: string): Promise<ClientRun> {
  const exit = (await readOptional(dir, `${name}.exit`))?.trim();
  const document = lastDocument<ExchangeDocument>(await readOptional(dir, `${name}.out`));
  if (exit === undefined || exit === '') return { exit: 'missing', document };
  if (exit === 'created') return { exit, document };
  return { exit: Number(exit), document };
}

/** The server's line about the connection whose client end is `local` ("address:port"); the server may name it as ::ffff:a.b.c.d. */
export function serverLineFor(events: ServerEvent[], local: string): ServerEvent | undefined {
  return events.findLast(({ remote, remotePort }) => `${String(remote).replace(/^::ffff:/, '')}:${String(remotePort)}` === local);
}
