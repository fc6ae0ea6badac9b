import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import { Refusal } from './errors.ts';

// A CSR is about 0.5 KiB (ECDSA) to 2 KiB (RSA-4096); nothing the CA accepts comes near this.
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The request's JSON object body. Refuses any other content type (415), more
 * than BODY_LIMIT_BYTES (413, decided from Content-Length before reading when
 * it is sent), and text that is not a JSON object (400).
 */
export async function readJsonObject(ctx: Koa.Context): Promise<Record<string, unknown>> {
  if (ctx.request.type !== 'application/json') {
    throw new Refusal('UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, not ${ctx.request.type || '(no content type)'}`);
  }
  const declared = ctx.request.length;
  if (declared !== undefined && declared > BODY_LIMIT_BYTES) throw tooLarge(ctx);
  const text = await readLimited(ctx.req, BODY_LIMIT_BYTES, () => tooLarge(ctx));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Refusal('BODY_INVALID', `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal('BODY_INVALID', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The rest of an oversized body is never read: the connection closes after the answer. */
function tooLarge(ctx: Koa.Context): Refusal {
  ctx.set('Connection', 'close');
  return new Refusal('BODY_TOO_LARGE', `the body is larger than ${BODY_LIMIT_BYTES} bytes`);
}

/** Reads the body as UTF-8, stopping (not draining) as soon as it passes `limit` bytes. */
function readLimited(request: IncomingMessage, limit: number, onTooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      cleanup();
      request.pause();
      reject(onTooLarge());
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}
