// The ways mutual TLS turns a client away, one entry each: the material the
// PKI issues for it (--with-demo-identities), what the client must report,
// and what the server must log for that very connection. The PKI, `make
// demo`'s table and the tests all read this table; docker-compose.yml adds
// one client service per entry (a test checks that the two agree).
//
// Adding a scenario: one entry here, plus its client service, its volume and
// the PKI's mount of it in docker-compose.yml's `failures` profile.
import type { Profile } from '../pki/certificates.ts';

/** The second CA a misconfigured client trusts instead of ours. */
export const OTHER_CA_NAME = 'otherCA';

/** What a scenario's client holds. */
export interface Material {
  /** What is wrong with it, for the PKI's report. */
  purpose: string;
  /** The certificate it presents; absent when it presents none. */
  presents?: {
    /** Our CA, or a second CA with the very same name (its key is thrown away). */
    signer: 'ca' | 'rogue-ca';
    /**
     * 'the client': the real client's names (--client-names), for material no
     * server accepts anyway. Any certificate our CA signs validly gets a name
     * of its own instead, that nobody dials or allows.
     */
    identity: 'the client' | { name: string };
    profile: Profile;
    /** Valid until yesterday. */
    expired?: true;
    /** Listed in the CRL the PKI writes into the server's folder (crl.pem). */
    revoked?: true;
  };
  /** What its ca.crt holds: our CA, or another CA (OTHER_CA_NAME). */
  trusts: 'ca' | 'other-ca';
}

/** The server's log line for the client's connection: the fields that say why. */
export type ServerExpectation =
  | { event: 'handshake_failed'; code: string; reason: string }
  | { event: 'request'; status: number; reason: string };

export interface Scenario {
  /** Compose service client-<id>, volume failures-<id>, PKI folder demo-<id>. */
  id: string;
  title: string;
  /** What mTLS must do, in a few words. */
  expected: string;
  material: Material;
  client: {
    /** The client's diagnosis code (it always exits 1). */
    diagnosis: string;
    /** The host it dials, when not `server`: a network alias of the server that its certificate does not name. */
    dials?: string;
  };
  server: ServerExpectation;
}

/** What the server logs when the client, not the server, ends the handshake. */
const CLIENT_HUNG_UP: ServerExpectation = { event: 'handshake_failed', code: 'ECONNRESET', reason: 'client hung up during the handshake' };

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'no-cert',
    title: 'no certificate',
    expected: 'refused: certificate required',
    material: { purpose: 'trusts the CA, presents nothing', trusts: 'ca' },
    client: { diagnosis: 'CERTIFICATE_REQUIRED' },
    server: { event: 'handshake_failed', code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', reason: 'peer did not return a certificate' },
  },
  {
    id: 'rogue-ca',
    title: 'rogue CA',
    expected: 'refused: unknown CA',
    material: {
      purpose: 'signed by a second CA with the same name as ours',
      presents: { signer: 'rogue-ca', identity: 'the client', profile: 'client' },
      trusts: 'ca',
    },
    client: { diagnosis: 'CERTIFICATE_REJECTED' },
    server: { event: 'handshake_failed', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', reason: 'unknown CA' },
  },
  {
    id: 'expired',
    title: 'expired',
    expected: 'refused: certificate expired',
    material: {
      purpose: 'signed by our CA, expired yesterday',
      presents: { signer: 'ca', identity: 'the client', profile: 'client', expired: true },
      trusts: 'ca',
    },
    client: { diagnosis: 'CERTIFICATE_REJECTED' },
    server: { event: 'handshake_failed', code: 'CERT_HAS_EXPIRED', reason: 'certificate expired' },
  },
  {
    id: 'revoked',
    title: 'revoked',
    expected: 'refused: certificate revoked',
    material: {
      purpose: 'signed by our CA, then revoked (the server\'s crl.pem lists it)',
      presents: { signer: 'ca', identity: { name: 'demo-revoked' }, profile: 'client', revoked: true },
      trusts: 'ca',
    },
    client: { diagnosis: 'CERTIFICATE_REJECTED' },
    server: { event: 'handshake_failed', code: 'CERT_REVOKED', reason: 'certificate revoked' },
  },
  {
    id: 'wrong-usage',
    title: 'wrong key usage',
    expected: 'refused: wrong key usage',
    material: {
      purpose: 'a server certificate (serverAuth only), for a name nobody dials',
      presents: { signer: 'ca', identity: { name: 'demo-wrong-usage' }, profile: 'server' },
      trusts: 'ca',
    },
    client: { diagnosis: 'CERTIFICATE_REJECTED' },
    server: { event: 'handshake_failed', code: 'INVALID_PURPOSE', reason: 'wrong key usage' },
  },
  {
    id: 'not-allowed',
    title: 'not allowed',
    expected: 'handshake OK, then HTTP 403',
    material: {
      purpose: 'valid, for an identity outside ALLOWED_CLIENTS',
      presents: { signer: 'ca', identity: { name: 'intruder' }, profile: 'client' },
      trusts: 'ca',
    },
    client: { diagnosis: 'FORBIDDEN' },
    server: { event: 'request', status: 403, reason: 'not in ALLOWED_CLIENTS' },
  },
  {
    id: 'wrong-name',
    title: 'wrong server name',
    expected: 'the client refuses the server',
    material: {
      purpose: 'a valid client, dialling a name not in the server certificate',
      presents: { signer: 'ca', identity: { name: 'demo-wrong-name' }, profile: 'client' },
      trusts: 'ca',
    },
    client: { diagnosis: 'HOSTNAME_MISMATCH', dials: 'mtls-backend' },
    server: CLIENT_HUNG_UP,
  },
  {
    id: 'untrusted-server',
    title: 'untrusted server',
    expected: 'the client refuses the server',
    material: {
      purpose: 'a valid client whose ca.crt is another CA',
      presents: { signer: 'ca', identity: { name: 'demo-untrusted-server' }, profile: 'client' },
      trusts: 'other-ca',
    },
    client: { diagnosis: 'SERVER_UNTRUSTED' },
    server: CLIENT_HUNG_UP,
  },
];
