// Attacks on the server by a client holding a valid (or once valid) certificate,
// each written before its fix and watched to succeed, then to fail.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { namesFromSubjectAltName } from '../services/shared/names.ts';
import { craftedClient } from './helpers/crafted.ts';
import { issue } from './helpers/material.ts';
import { startTestServer, type LogEvent, type TestServer } from './helpers/server.ts';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Client TLS options from a tls.crt/tls.key/ca.crt folder. */
async function clientOptions(dir: string): Promise<https.RequestOptions> {
  const read = (file: string) => readFile(join(dir, file));
  return { cert: await read('tls.crt'), key: await read('tls.key'), ca: await read('ca.crt'), servername: 'localhost' };
}

/** One GET over its own connection (or `options.agent`'s). */
function get(url: string, options: https.RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent: false, ...options }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers }));
      })
      .on('error', reject);
  });
}

/** The request line the server logged after `seen` events. */
function requestLogged(server: TestServer, seen: number): Promise<LogEvent> {
  return server.log.waitFor((event) => event.event === 'request' && server.log.events.indexOf(event) >= seen);
}

describe('authorization matches ALLOWED_CLIENTS against SANs only, by type', () => {
  let out: string;
  let server: TestServer;
  let spiffe: TestServer;
  before(async () => {
    out = await issue('method1');
    server = await startTestServer(join(out, 'server'), ['client']);
    spiffe = await startTestServer(join(out, 'server'), ['spiffe://example.org/client']);
  });
  after(async () => {
    await server.close();
    await spiffe.close();
  });

  async function attempt(target: TestServer, subject: string, subjectAltName?: string) {
    const dir = await craftedClient({ caDir: join(out, 'ca'), subject, subjectAltName });
    const seen = target.log.events.length;
    const answer = await get(target.url(), await clientOptions(dir));
    return { answer, logged: await requestLogged(target, seen) };
  }

  const refusals: { name: string; subject: string; subjectAltName?: string }[] = [
    { name: 'CN=client whose only SAN is DNS:evil.example', subject: '/CN=client', subjectAltName: 'DNS:evil.example' },
    { name: 'CN=evil with URI:client (a name, but not a DNS name)', subject: '/CN=evil', subjectAltName: 'URI:client' },
    { name: 'CN=client and no SAN at all', subject: '/CN=client' },
    { name: '/CN=client/CN=evil with an unrelated URI SAN', subject: '/CN=client/CN=evil', subjectAltName: 'URI:spiffe://example.org/evil' },
  ];
  for (const { name, subject, subjectAltName } of refusals) {
    it(`refuses ${name}: 403, logged with the reason`, async () => {
      const { answer, logged } = await attempt(server, subject, subjectAltName);
      assert.equal(answer.status, 403, answer.body);
      assert.equal(logged['status'], 403);
      assert.equal(logged['as'], undefined);
      if (subjectAltName === undefined) {
        assert.equal(logged['reason'], 'no DNS or URI name in the certificate');
        assert.equal(answer.body, 'forbidden: the certificate names no DNS or URI identity\n');
      } else {
        assert.equal(logged['reason'], 'not in ALLOWED_CLIENTS');
        assert.match(answer.body, /^forbidden: .+ is authenticated but not allowed here\n$/);
      }
    });
  }

  it('lets in a DNS SAN that matches case-insensitively, greets and logs it by that SAN', async () => {
    const { answer, logged } = await attempt(server, '/CN=someone-else', 'DNS:other.example,DNS:CLIENT');
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'Hello CLIENT, from server (mTLS verified)\n');
    assert.equal(logged['as'], 'DNS:CLIENT');
    assert.equal(logged['client'], 'CLIENT');
  });

  it('matches an entry with a scheme against URI SANs exactly', async () => {
    const allowed = await attempt(spiffe, '/CN=x', 'DNS:spiffe.example,URI:spiffe://example.org/client');
    assert.equal(allowed.answer.status, 200);
    assert.equal(allowed.logged['as'], 'URI:spiffe://example.org/client');
    assert.equal(allowed.answer.body, 'Hello spiffe://example.org/client, from server (mTLS verified)\n');
    const otherCase = await attempt(spiffe, '/CN=x', 'URI:spiffe://example.org/Client');
    assert.equal(otherCase.answer.status, 403);
    const asDns = await attempt(spiffe, '/CN=spiffe:\\/\\/example.org\\/client', 'DNS:client');
    assert.equal(asDns.answer.status, 403);
  });

  it('without ALLOWED_CLIENTS, still refuses a certificate that names no DNS or URI identity', async () => {
    const open = await startTestServer(join(out, 'server'));
    try {
      const { answer, logged } = await attempt(open, '/CN=client');
      assert.equal(answer.status, 403);
      assert.equal(logged['reason'], 'no DNS or URI name in the certificate');
      const named = await attempt(open, '/CN=x', 'URI:spiffe://example.org/a,DNS:b.example');
      assert.equal(named.answer.status, 200);
      assert.equal(named.logged['as'], 'URI:spiffe://example.org/a');
    } finally {
      await open.close();
    }
  });
});

describe("reading Node's subjectAltName string", () => {
  it('reads DNS, URI and IP entries, and a quoted value as one name (a comma cannot smuggle a second)', () => {
    assert.deepEqual(namesFromSubjectAltName('DNS:a.example, URI:spiffe://example.org/a, IP Address:127.0.0.1, email:x@example.org'), [
      { type: 'dns', value: 'a.example' },
      { type: 'uri', value: 'spiffe://example.org/a' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    assert.deepEqual(namesFromSubjectAltName('URI:"x, DNS:client", DNS:b.example'), [
      { type: 'uri', value: 'x, DNS:client' },
      { type: 'dns', value: 'b.example' },
    ]);
    assert.deepEqual(namesFromSubjectAltName(undefined), []);
  });
});
