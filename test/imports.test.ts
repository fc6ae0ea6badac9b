// The import graph of the project's own TypeScript has no cycle: a module can
// be read, tested and moved with what it stands on, never with what stands on it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FOLDERS = ['pki', 'services', 'core', 'demo', 'bench', 'test', '.ci'];
// Static imports and re-exports (`from` a relative path, at the start of a line), side-effect imports, dynamic imports.
const SPECIFIER = /^\s*(?:import|export)\s[^;]*?\bfrom\s*'(\.{1,2}\/[^']+)'|^\s*import\s*'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/gm;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !join(entry.parentPath, entry.name).includes('node_modules'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Each file's relative imports, resolved to absolute paths. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  return new Map(files.map((file) => [file, [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map((match) => resolve(dirname(file), (match[1] ?? match[2] ?? match[3]) as string))]));
}

/** One cycle (its files in import order, the first repeated at the end), or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string[] | undefined => {
    const at = path.indexOf(file);
    if (at !== -1) return [...path.slice(at), file];
    if (done.has(file)) return undefined;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('imports', () => {
  const files = FOLDERS.flatMap((folder) => sourceFiles(join(ROOT, folder)));
  const graph = importGraph(files);

  it('reads the whole tree', () => {
    assert.ok(files.length > 50, `only ${files.length} files found`);
    assert.ok(files.includes(join(ROOT, 'pki/main.ts')));
  });

  it('every relative import names a file that exists, with its .ts extension', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((target) => !existsSync(target)).map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`));
    assert.deepEqual(missing, []);
  });

  it('has no cycle', () => {
    const cycle = findCycle(graph);
    assert.equal(cycle?.map((file) => relative(ROOT, file)).join(' → '), undefined);
  });

  it('would see a cycle (the check itself is not blind)', () => {
    const [a, b, c] = ['/a.ts', '/b.ts', '/c.ts'];
    assert.deepEqual(findCycle(new Map([[a, [b]], [b, [c]], [c, [a]]])), [a, b, c, a]);
    assert.equal(findCycle(new Map([[a, [b, c]], [b, [c]], [c, []]])), undefined);
    const text = importGraph([join(ROOT, 'pki/main.ts')]).get(join(ROOT, 'pki/main.ts')) ?? [];
    assert.ok(text.includes(join(ROOT, 'pki/issue.ts')), 'pki/main.ts imports ./issue.ts');
  });
});
