import { SCENARIOS } from '../demo/scenarios.ts';

/**
 * The failure demo's client identities, one folder each under --out. Each
 * holds only what that client needs; no folder holds a CA key.
 */
export const DEMO_FOLDERS: string[] = SCENARIOS.map(({ id }) => demoFolder(id));

export function demoFolder(scenarioId: string): string {
  return `demo-${scenarioId}`;
}
