// What the koa app answers when a middleware throws: an unplanned error is a
// 500 that shows nothing of itself and is logged; an error thrown as koa's
// ctx.throw throws it keeps its status, and its message only when exposed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createApp } from '../services/server/app.ts';
import { trackConnections } from '../services/server/connections.ts';
import { readTlsMaterial, type TlsMaterial } from '../core/tls-material.ts';
import { issue } from './helpers/material.ts';
import { memoryLog } from './helpers/server.ts';

/** A real mTLS server whose connection bookkeeping throws `failure` at the start of every request. */
async function failingServer(material: TlsMaterial, failure: unknown) {
  const log = memoryLog();
  const server = https.createServer({ cert: material.certificatePem, key: material.keyPem, ca: material.caPem, requestCert: true, rejectUnauthorized: true });
  const connections = trackConnections(server, 60_000);
  const app = createApp({
    allowedClients: undefined,
    isRevoked: () => false,
    log,
    connections: {
      ...connections,
      begin: () => {
        throw failure;
      },
    },
  });
  server.on('request', app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    log,
    port,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function get(port: number, client: TlsMaterial): Promise<{ status: number; body: string }> {
  const request = https.get({ host: '127.0.0.1', port, path: '/', servername: 'localhost', cert: client.certificatePem, key: client.keyPem, ca: client.caPem, agent: false });
  const [response] = (await once(request, 'response')) as [import('node:http').IncomingMessage];
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) body += chunk as string;
  return { status: response.statusCode ?? 0, body };
}

describe('the app answers a thrown error as koa would', () => {
  let server: TlsMaterial;
  let client: TlsMaterial;
  before(async () => {
    const out = await issue('method1');
    [server, client] = await Promise.all([readTlsMaterial(join(out, 'server')), readTlsMaterial(join(out, 'client'))]);
  });

  it('an unplanned error: 500 "internal error", nothing of its message, logged as request_error', async () => {
    await using running = await failingServer(server, new Error('secret detail /etc/passwd'));
    assert.deepEqual(await get(running.port, client), { status: 500, body: 'internal error\n' });
    const logged = running.log.events.find((event) => event.event === 'request_error');
    assert.equal(logged?.['error'], 'Error: secret detail /etc/passwd');
    assert.equal(running.log.events.find((event) => event.event === 'request')?.['status'], 500);
  });

  it('an exposed client error (ctx.throw(400, message)): its status and message, not logged as a fault', async () => {
    await using running = await failingServer(server, Object.assign(new Error('bad request: no such thing'), { status: 400, expose: true }));
    assert.deepEqual(await get(running.port, client), { status: 400, body: 'bad request: no such thing\n' });
    assert.equal(running.log.events.some((event) => event.event === 'request_error'), false);
    assert.equal(running.log.events.find((event) => event.event === 'request')?.['status'], 400);
  });

  it('a status without expose: the status and its standard text, not the message', async () => {
    await using running = await failingServer(server, Object.assign(new Error('hidden'), { status: 503 }));
    assert.deepEqual(await get(running.port, client), { status: 503, body: 'Service Unavailable\n' });
    assert.equal(running.log.events.find((event) => event.event === 'request_error')?.['error'], 'Error: hidden');
  });

  it('a status that is not an HTTP error status is a 500', async () => {
    await using running = await failingServer(server, Object.assign(new Error('odd'), { status: 302, expose: true }));
    assert.deepEqual(await get(running.port, client), { status: 500, body: 'internal error\n' });
  });
});
