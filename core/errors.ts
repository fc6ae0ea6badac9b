/** What a refusal may carry besides its message: the error it wraps, and a process exit code. */
export interface MtlsErrorOptions {
  cause?: unknown;
  exitCode?: number;
}

/**
 * The one base of the errors this project throws on purpose: `message` is one
 * line meant for a person, `code` is stable for programs, `cause` keeps the
 * error it wraps, `exitCode` is what an entry point exits with (1 unless the
 * input itself was bad).
 */
export abstract class MtlsError extends Error {
  abstract readonly code: string;
  readonly exitCode: number;

  constructor(message: string, options: MtlsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad input (a flag, a setting): the person can fix it; exit 2 tells a script so. */
export abstract class BadInputError extends MtlsError {
  constructor(message: string, options: MtlsErrorOptions = {}) {
    super(message, { exitCode: 2, ...options });
  }
}

/** The exit code an entry point ends with: the error's own, or 1 for anything unplanned. */
export function exitCodeOf(error: unknown): number {
  return error instanceof MtlsError ? error.exitCode : 1;
}
