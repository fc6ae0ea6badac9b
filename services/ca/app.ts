import Koa from 'koa';
import type { TLSSocket } from 'node:tls';
import type { Log } from '../../core/log.ts';
import { adminOf, revocationRequest, revoke } from './admin.ts';
import { readJsonObject } from './body.ts';
import type { CaContext, IssuedResponse } from './context.ts';
import { describeCrl } from './crl-publisher.ts';
import { requested, type CsrInput } from './csr-input.ts';
import type { CertificateRecord } from './database.ts';
import { enroll } from './enroll.ts';
import { Refusal } from './errors.ts';
import type { IssuedCertificate } from './issuance.ts';
import { renew } from './renew.ts';

type Route = (ctx: Koa.Context, context: CaContext, log: Log) => Promise<void> | void;

const ROUTES: Record<string, { method: 'GET' | 'POST'; handle: Route }> = {
  '/healthz': { method: 'GET', handle: (ctx) => void (ctx.body = { status: 'ok' }) },
  '/ca.crt': {
    method: 'GET',
    handle: (ctx, context) => {
      ctx.type = 'application/x-pem-file';
      ctx.body = context.authority.certificatePem;
    },
  },
  '/crl.pem': {
    method: 'GET',
    handle: (ctx, context) => {
      ctx.type = 'application/x-pem-file';
      ctx.body = context.crl.current().pem;
    },
  },
  '/admin/revoke': {
    method: 'POST',
    handle: async (ctx, context, log) => {
      const admin = adminOf(context, ctx.socket as TLSSocket);
      const request = revocationRequest(await readJsonObject(ctx));
      const result = revoke(context, request);
      // Published before answering: once the admin hears "revoked", /crl.pem lists it.
      const crl = result.revoked.length === 0 ? context.crl.current() : context.crl.publish();
      ctx.body = { ...result, reason: request.reason, crlNumber: crl.number.toString() };
      log.info('revoked', {
        by: { identity: admin.identity, serial: admin.serial },
        target: request.target,
        reason: request.reason,
        serials: result.revoked.map((record) => record.serial),
        alreadyRevoked: result.alreadyRevoked.map((record) => record.serial),
        tokensSpent: result.tokensSpent,
        remote: ctx.socket.remoteAddress,
      });
      if (result.revoked.length > 0) log.info('crl_published', { ...describeCrl(crl), why: 'revocation' });
    },
  },
  '/admin/certificates': {
    method: 'GET',
    handle: (ctx, context) => {
      adminOf(context, ctx.socket as TLSSocket);
      ctx.body = { certificates: context.db.certificates() };
    },
  },
  '/enroll': {
    method: 'POST',
    handle: async (ctx, context, log) => {
      const { response, issued, input, replayed } = enroll(context, await readJsonObject(ctx));
      await context.db.flush();
      if (replayed) return replayEnrollment(ctx, log, response, issued.record);
      answerIssued(ctx, response);
      logIssued(log, ctx, issued, input);
    },
  },
  '/renew': {
    method: 'POST',
    handle: async (ctx, context, log) => {
      const { response, issued, replayed, input, presented } = renew(context, ctx.socket as TLSSocket, await readJsonObject(ctx));
      await context.db.flush();
      if (replayed) return replay(ctx, log, response, presented);
      answerIssued(ctx, response);
      logIssued(log, ctx, issued, input, presented);
    },
  },
};

/** The CA's HTTP API: JSON in and out, every refusal a status plus {"error": CODE, "message": "..."}. */
export function createCaApp(context: CaContext, log: Log): Koa {
  const app = new Koa();
  app.silent = true; // failures are answered and logged below, as JSON
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof Refusal) refuse(ctx, log, error);
      else fail(ctx, log, error);
    }
  });
  app.use(async (ctx) => {
    const route = ROUTES[ctx.path];
    if (route === undefined) throw new Refusal('NOT_FOUND', `no route ${ctx.path} (routes: ${Object.keys(ROUTES).join(', ')})`);
    const allowed = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
    if (!allowed.includes(ctx.method)) {
      ctx.set('Allow', allowed.join(', '));
      throw new Refusal('METHOD_NOT_ALLOWED', `${ctx.path} takes ${route.method}, not ${ctx.method}`);
    }
    await route.handle(ctx, context, log);
  });
  return app;
}

function answerIssued(ctx: Koa.Context, response: object): void {
  ctx.status = 201;
  ctx.body = response;
}

/** A retry of a renewal whose answer was lost: the same certificate again, 200 (nothing was created). */
function replay(ctx: Koa.Context, log: Log, response: IssuedResponse, presented: CertificateRecord): void {
  ctx.status = 200;
  ctx.body = response;
  log.info('renewal_replayed', { identity: presented.identity, serial: response.serial, renewedFrom: presented.serial, remote: ctx.socket.remoteAddress });
}

/** A retry of an enrollment whose answer was lost: the same certificate again, 200 (nothing was created, no token spent). */
function replayEnrollment(ctx: Koa.Context, log: Log, response: IssuedResponse, record: CertificateRecord): void {
  ctx.status = 200;
  ctx.body = response;
  log.info('enrollment_replayed', { identity: record.identity, role: record.role, serial: record.serial, remote: ctx.socket.remoteAddress });
}

function logIssued(log: Log, ctx: Koa.Context, issued: Pick<IssuedCertificate, 'record'>, input: CsrInput, presented?: CertificateRecord): void {
  const { record } = issued;
  log.info('issued', {
    via: record.issuedVia,
    identity: record.identity,
    role: record.role,
    serial: record.serial,
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    keyFingerprint256: record.keyFingerprint256,
    ...(presented === undefined ? {} : { renewedFrom: presented.serial }),
    requested: requested(input.csr),
    remote: ctx.socket.remoteAddress,
  });
}

function refuse(ctx: Koa.Context, log: Log, refusal: Refusal): void {
  ctx.status = refusal.status;
  ctx.body = { error: refusal.code, message: refusal.message };
  log.warn('refused', {
    path: ctx.path,
    status: refusal.status,
    code: refusal.code,
    message: refusal.message,
    ...refusal.details,
    remote: ctx.socket.remoteAddress,
  });
}

function fail(ctx: Koa.Context, log: Log, error: unknown): void {
  ctx.status = 500;
  ctx.body = { error: 'INTERNAL', message: 'the CA failed to handle this request; see its log' };
  log.error('internal_error', { path: ctx.path, error: String((error as Error)?.stack ?? error) });
}
