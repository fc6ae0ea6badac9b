import { BadInputError } from './errors.ts';

/** An invalid setting: one line naming the variable and what is wrong with it. */
export class ConfigError extends BadInputError {
  readonly code = 'ECONFIG';
}

/** An integer environment value within [min, max], or the default when unset. */
export function integerSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return Number(raw);
}

/** A required directory setting. */
export function requiredSetting(env: NodeJS.ProcessEnv, name: string, example: string): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') throw new ConfigError(`${name} is required (e.g. ${name}=${example})`);
  return raw.trim();
}
