/**
 * The failure demo's client identities, one folder each under --out. Each
 * holds only what that client needs; no folder holds a CA key.
 */
export const DEMO_SCENARIOS = [
  'no-cert',
  'rogue-ca',
  'expired',
  'wrong-usage',
  'not-allowed',
  'wrong-name',
  'untrusted-server',
] as const;

export type DemoScenario = (typeof DEMO_SCENARIOS)[number];

export const DEMO_FOLDERS: string[] = DEMO_SCENARIOS.map((scenario) => `demo-${scenario}`);
