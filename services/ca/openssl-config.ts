import { fileURLToPath } from 'node:url';

/** The OpenSSL configuration the CA process runs with (as OPENSSL_CONF): no TLS 1.3 session tickets (see the file). */
export const CA_OPENSSL_CONF = fileURLToPath(new URL('./openssl.cnf', import.meta.url));
