import { STATUS_CODES } from 'node:http';

/** What a failed request answers: koa's rule (ctx.throw's `status` and `expose`), never the message of an unplanned error. */
export interface HttpFailure {
  status: number;
  body: string;
  /** A server fault (5xx): logged as request_error with the error itself. */
  fault: boolean;
}

export function httpFailureOf(error: unknown): HttpFailure {
  const { status, expose, message } = (error ?? {}) as { status?: unknown; expose?: unknown; message?: unknown };
  const known = typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599;
  const code = known ? status : 500;
  // As koa answers: only an error marked `expose` (ctx.throw(4xx) is) shows its message.
  const shown = known && expose === true && typeof message === 'string';
  return { status: code, body: `${shown ? message : code === 500 ? 'internal error' : STATUS_CODES[code] ?? 'error'}\n`, fault: code >= 500 };
}
