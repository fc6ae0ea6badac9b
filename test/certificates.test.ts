// The CA's side of a CSR, directly: it signs only what it approved.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it, before } from 'node:test';
import { createCaCertificate, createCsr, issueFromCsr, validity, type Issuer } from '../pki/certificates.ts';
import { generateKey } from '../core/key-types.ts';
import { parseSubjectNames } from '../core/names.ts';

describe('issueFromCsr', () => {
  let ca: Issuer;
  const approved = { commonName: 'client', names: parseSubjectNames('client') };
  before(async () => {
    const key = await generateKey({ type: 'rsa' });
    ca = { certificatePem: createCaCertificate('selfCA', key, validity(new Date(), 30)), key };
  });

  it('signs a CSR that asks for exactly the approved identity, with the CA profile', async () => {
    const csr = createCsr('client', approved.names, await generateKey({ type: 'rsa' }));
    const cert = new X509Certificate(issueFromCsr(csr, 'client', ca, validity(new Date(), 10), approved));
    assert.equal(cert.subject.trim(), 'CN=client');
    assert.equal(cert.subjectAltName, 'DNS:client');
    assert.equal(cert.checkIssued(new X509Certificate(ca.certificatePem)), true);
  });

  it('refuses a CSR that asks for other names', async () => {
    const csr = createCsr('client', parseSubjectNames('client,admin'), await generateKey({ type: 'rsa' }));
    assert.throws(() => issueFromCsr(csr, 'client', ca, validity(new Date(), 10), approved), /the CSR asks for DNS:client, DNS:admin, not DNS:client: refusing to sign it/);
  });

  it('refuses a CSR that asks for another subject', async () => {
    const csr = createCsr('server', approved.names, await generateKey({ type: 'rsa' }));
    assert.throws(() => issueFromCsr(csr, 'client', ca, validity(new Date(), 10), approved), /the CSR asks for subject CN=server, not CN=client/);
  });

  it('refuses a CSR whose signature does not verify (tampered after signing)', async () => {
    const csrPem = createCsr('client', approved.names, await generateKey({ type: 'rsa' }));
    // Flip the last byte of the DER: it belongs to the signature.
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 1] = (der.at(-1) ?? 0) ^ 0xff;
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => issueFromCsr(forged, 'client', ca, validity(new Date(), 10), approved), /the CSR signature does not verify/);
  });
});
