// The client's mapping from got/Node error codes to diagnoses, case by case.
// (The loopback tests produce most of these for real; this covers every branch.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable } from '../services/client/printable.ts';
import { bodyTooLarge, diagnose, diagnoseResponse, type FailureContext } from '../services/client/diagnosis.ts';

const context: FailureContext = { host: 'server', port: '9443', presentedCertificate: true, serverNames: ['DNS:server'], timeoutMs: 5000 };
const error = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('client diagnosis', () => {
  const cases: [NodeJS.ErrnoException, Partial<FailureContext>, string, RegExp][] = [
    [error('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), { presentedCertificate: false }, 'CERTIFICATE_REQUIRED', /requires a client certificate and we did not send one/],
    [error('EPROTO', 'SSL alert number 40'), { presentedCertificate: false }, 'CERTIFICATE_REQUIRED', /did not send one/],
    [error('EPROTO', 'SSL alert number 40'), {}, 'CERTIFICATE_REJECTED', /refused the handshake \(EPROTO\)/],
    [error('ECONNRESET'), {}, 'CERTIFICATE_REJECTED', /rejected our certificate \(unknown CA, expired, revoked, or wrong key usage/],
    [error('ECONNRESET'), { presentedCertificate: false }, 'CONNECTION_RESET', /server at server:9443 dropped the connection \(ECONNRESET\)/],
    [error('SELF_SIGNED_CERT_IN_CHAIN'), {}, 'SERVER_UNTRUSTED', /not signed by a CA in our ca\.crt/],
    [error('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), {}, 'SERVER_UNTRUSTED', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
    [error('CERT_HAS_EXPIRED'), {}, 'SERVER_EXPIRED', /expired/],
    [error('CERT_NOT_YET_VALID'), {}, 'SERVER_NOT_YET_VALID', /^the server's certificate is not valid yet$/],
    [error('ERR_TLS_CERT_ALTNAME_INVALID'), {}, 'HOSTNAME_MISMATCH', /"server" is not a name in the server's certificate \(it names DNS:server\)/],
    [error('ECONNREFUSED'), {}, 'CONNECTION_REFUSED', /nothing listens on server:9443/],
    [error('ENOTFOUND'), {}, 'HOST_NOT_FOUND', /cannot resolve the host name "server"/],
    [error('ETIMEDOUT'), {}, 'TIMEOUT', /within 5000 ms/],
    [error('EHOSTUNREACH'), {}, 'UNREACHABLE', /^server:9443 is unreachable \(EHOSTUNREACH\)$/],
    [error('EWHATEVER', 'odd\nsecond line'), {}, 'FAILED', /^EWHATEVER: odd$/],
    [error('EWHATEVER', 'odd\u001b[2J'), {}, 'FAILED', /^EWHATEVER: odd\\x1b\[2J$/],
    [error('ERR_TLS_CERT_ALTNAME_INVALID'), { serverNames: ['DNS:a\u009bb'] }, 'HOSTNAME_MISMATCH', /\(it names DNS:a\\x9bb\)$/],
  ];
  for (const [failure, overrides, code, message] of cases) {
    it(`${failure.code} (${JSON.stringify(overrides)}) → ${code}`, () => {
      const diagnosis = diagnose(failure, { ...context, ...overrides });
      assert.equal(diagnosis.code, code);
      assert.match(diagnosis.message, message);
    });
  }
});

describe('client diagnosis of a response that is not a success', () => {
  it('a redirect is refused, naming where it pointed (escaped)', () => {
    assert.deepEqual(diagnoseResponse(302, 'http://127.0.0.1:80/\u001b[0m', ''), {
      code: 'REDIRECT_REFUSED',
      message: 'the server answered 302 and points to http://127.0.0.1:80/\\x1b[0m; a client that authenticates with a certificate follows no redirect',
    });
  });

  it('a redirect without a Location is refused too', () => {
    assert.equal(diagnoseResponse(308, undefined, '').message, 'the server answered 308 and gives no Location; a client that authenticates with a certificate follows no redirect');
  });

  it('403 is FORBIDDEN, quoting the body', () => {
    assert.deepEqual(diagnoseResponse(403, undefined, 'client "x" is not allowed\n'), {
      code: 'FORBIDDEN',
      message: 'the server verified our certificate but does not allow us: client "x" is not allowed',
    });
  });

  it('another status quotes at most 200 characters of the body, escaped', () => {
    const diagnosis = diagnoseResponse(500, undefined, `\u001b${'x'.repeat(500)}`);
    assert.equal(diagnosis.code, 'HTTP_500');
    assert.equal(diagnosis.message, `the server answered 500: \\x1b${'x'.repeat(199)}…`);
  });

  it('a body over the cap is BODY_TOO_LARGE', () => {
    assert.deepEqual(bodyTooLarge(1024), { code: 'BODY_TOO_LARGE', message: 'the server sent more than 1024 bytes of body; we stopped reading' });
  });
});

describe('printable', () => {
  it('escapes C0 and C1 controls, DEL, line separators, bidi overrides and backslashes; keeps other text', () => {
    assert.equal(printable('a\nb\r\t\u0000\u001b[31m\u007f\u0085\u009b\u2028\u202e\u2066\\ é ✓'), 'a\\nb\\r\\t\\x00\\x1b[31m\\x7f\\x85\\x9b\\u{2028}\\u{202e}\\u{2066}\\\\ é ✓');
  });
});
