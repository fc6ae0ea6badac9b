// The client's mapping from got/Node error codes to diagnoses, case by case.
// (The loopback tests produce most of these for real; this covers every branch.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type FailureContext } from '../services/client/diagnosis.ts';

const context: FailureContext = { host: 'server', port: '9443', presentedCertificate: true, serverNames: ['DNS:server'], timeoutMs: 5000 };
const error = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('client diagnosis', () => {
  const cases: [NodeJS.ErrnoException, Partial<FailureContext>, string, RegExp][] = [
    [error('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), { presentedCertificate: false }, 'CERTIFICATE_REQUIRED', /requires a client certificate and we did not send one/],
    [error('EPROTO', 'SSL alert number 40'), { presentedCertificate: false }, 'CERTIFICATE_REQUIRED', /did not send one/],
    [error('EPROTO', 'SSL alert number 40'), {}, 'CERTIFICATE_REJECTED', /refused the handshake \(EPROTO\)/],
    [error('ECONNRESET'), {}, 'CERTIFICATE_REJECTED', /rejected our certificate \(unknown CA, expired, or wrong key usage/],
    [error('ECONNRESET'), { presentedCertificate: false }, 'CONNECTION_RESET', /server at server:9443 dropped the connection \(ECONNRESET\)/],
    [error('SELF_SIGNED_CERT_IN_CHAIN'), {}, 'SERVER_UNTRUSTED', /not signed by a CA in our ca\.crt/],
    [error('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), {}, 'SERVER_UNTRUSTED', /UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
    [error('CERT_HAS_EXPIRED'), {}, 'SERVER_EXPIRED', /expired/],
    [error('ERR_TLS_CERT_ALTNAME_INVALID'), {}, 'HOSTNAME_MISMATCH', /"server" is not a name in the server's certificate \(it names DNS:server\)/],
    [error('ECONNREFUSED'), {}, 'CONNECTION_REFUSED', /nothing listens on server:9443/],
    [error('ENOTFOUND'), {}, 'HOST_NOT_FOUND', /cannot resolve the host name "server"/],
    [error('ETIMEDOUT'), {}, 'TIMEOUT', /within 5000 ms/],
    [error('EWHATEVER', 'odd\nsecond line'), {}, 'FAILED', /^EWHATEVER: odd$/],
  ];
  for (const [failure, overrides, code, message] of cases) {
    it(`${failure.code} (${JSON.stringify(overrides)}) → ${code}`, () => {
      const diagnosis = diagnose(failure, { ...context, ...overrides });
      assert.equal(diagnosis.code, code);
      assert.match(diagnosis.message, message);
    });
  }
});
