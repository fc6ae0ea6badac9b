// make demo's report of one method, from the JSON it reads by key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatClient, formatIdentities, formatRequests, passed } from '../demo/method-report.ts';
import type { PkiDocument } from '../pki/report.ts';
import type { ExchangeDocument } from '../services/client/report-json.ts';
import type { CertificateSummary } from '../core/certificate.ts';

const certificate: CertificateSummary = {
  subject: 'CN=localhost',
  issuer: 'CN=localhost',
  subjectAltNames: ['DNS:server'],
  extendedKeyUsage: ['serverAuth', 'clientAuth'],
  serialNumber: '01',
  validFrom: '2026-01-01T00:00:00.000Z',
  validTo: '2027-01-01T00:00:00.000Z',
  fingerprint256: 'AA:BB',
};

const served: ExchangeDocument = {
  url: 'https://server:9443/',
  presents: certificate,
  trusts: ['CN=localhost'],
  warnings: [],
  attempts: 1,
  connection: { local: '172.18.0.3:40000', remote: '172.18.0.2:9443' },
  server: certificate,
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  status: 200,
  statusMessage: 'OK',
  location: null,
  body: 'Hello localhost\n',
  result: 'OK',
  failure: null,
};

describe("make demo's method report", () => {
  it('shows the client as a person reads it', () => {
    assert.deepEqual(formatClient(served), [
      '    client:  https://server:9443/ as CN=localhost, trusting CN=localhost',
      '    conn:    172.18.0.3:40000 → 172.18.0.2:9443',
      '    server:  CN=localhost · issuer CN=localhost · DNS:server',
      '             SHA-256 AA:BB',
      '    tls:     TLSv1.3 TLS_AES_256_GCM_SHA384',
      '    http:    200 OK',
      '    body:    Hello localhost',
      '    result:  OK (mutual TLS: both sides verified)',
    ]);
  });

  it("escapes what the server chose: it cannot fake the demo's lines", () => {
    const hostile = { ...served, statusMessage: '\u001b[2J', body: 'x\n    result:  OK' };
    const lines = formatClient(hostile);
    assert.ok(lines.includes('    http:    200 \\x1b[2J'), lines.join('\n'));
    assert.ok(lines.includes('    body:    x\\n    result:  OK'), lines.join('\n'));
  });

  it('passes only on exit 0 with result OK', () => {
    assert.equal(passed({ exit: 0, document: served }), true);
    assert.equal(passed({ exit: 0, document: { ...served, result: 'FAILED' } }), false);
    assert.equal(passed({ exit: 1, document: served }), false);
    assert.equal(passed({ exit: 0, document: undefined }), false);
  });

  it("lists the PKI's identities, and says when both sides hold one certificate", () => {
    const pki: PkiDocument = {
      method: 'method2',
      out: '/out',
      key: 'RSA-2048',
      days: 365,
      leafDays: null,
      identities: ['server', 'client'].map((identity) => ({ identity, action: 'issued', reason: 'new', certificate })),
    };
    assert.deepEqual(formatIdentities(pki), [
      '    server  issued  CN=localhost · DNS:server · EKU serverAuth+clientAuth',
      '    client  issued  CN=localhost · DNS:server · EKU serverAuth+clientAuth',
      '    (server and client hold the same certificate and key: each trusts exactly it)',
    ]);
  });

  it("shows the server's requests, whatever the order of their keys", () => {
    const lines = formatRequests([{ status: 200, path: '/', event: 'request', client: 'client', method: 'GET' }, { event: 'listening' }]);
    assert.deepEqual(lines, ['    client "client": GET / → 200']);
  });
});
