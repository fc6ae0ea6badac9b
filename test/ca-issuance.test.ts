// What the CA records of a leaf it signs (serial, fingerprint, validity) is
// taken from what it signed, not parsed back out: it must be exactly what
// X509Certificate and the openssl CLI read from the certificate.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseCsr } from '../core/csr.ts';
import { keyFingerprint256 } from '../core/key-fingerprint.ts';
import { generateKey, issueCertificate } from '../core/x509.ts';
import type { Authority } from '../services/ca/authority.ts';
import { signLeaf } from '../services/ca/issuance.ts';
import { csrFor } from './helpers/ca.ts';

async function testAuthority(): Promise<Authority> {
  const key = await generateKey({ type: 'ecdsa', curve: 'P-256' });
  const now = Date.now();
  const certificatePem = issueCertificate({ profile: 'ca', commonName: 'test CA', names: [], publicKey: key, subjectKey: key, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) });
  return { certificate: new X509Certificate(certificatePem), key, certificatePem };
}

describe('CA: the record of a signed leaf', () => {
  it('has the serial, fingerprint and validity that X509Certificate reads from it (200 leaves: random serials, times with milliseconds)', async () => {
    const authority = await testAuthority();
    const key = await generateKey({ type: 'ecdsa', curve: 'P-256' });
    const csr = parseCsr(csrFor(key));
    const request = { csr, keyFingerprint256: keyFingerprint256(csr.publicKey) };
    for (let index = 0; index < 200; index++) {
      const now = new Date(Date.now() + index * 7919 + (index % 1000));
      const { pem, record } = signLeaf(authority, 90_000 + index, { identity: 'client', role: 'client', request, via: 'renew' }, now);
      const certificate = new X509Certificate(pem);
      assert.deepEqual(
        { serial: record.serial, fingerprint256: record.fingerprint256, notBefore: record.notBefore, notAfter: record.notAfter },
        {
          serial: certificate.serialNumber,
          fingerprint256: certificate.fingerprint256,
          notBefore: certificate.validFromDate.toISOString(),
          notAfter: certificate.validToDate.toISOString(),
        },
        `leaf ${index}`,
      );
    }
  });

  it('has the serial and SHA-256 fingerprint the openssl CLI prints', async () => {
    const authority = await testAuthority();
    const key = await generateKey({ type: 'ecdsa', curve: 'P-256' });
    const csr = parseCsr(csrFor(key));
    const { pem, record } = signLeaf(authority, 60_000, { identity: 'client', role: 'client', request: { csr, keyFingerprint256: keyFingerprint256(csr.publicKey) }, via: 'enroll' }, new Date());
    const printed = execFileSync('openssl', ['x509', '-noout', '-serial', '-fingerprint', '-sha256'], { input: pem, encoding: 'utf8' });
    assert.match(printed, new RegExp(`^serial=${record.serial}$`, 'm'));
    assert.match(printed, new RegExp(`^sha256 Fingerprint=${record.fingerprint256}$`, 'im'));
  });
});
