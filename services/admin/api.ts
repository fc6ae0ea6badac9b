import https from 'node:https';
import got from 'got';
import { CaError } from '../agent/ca-client.ts';
import type { TlsMaterial } from '../../core/tls-material.ts';

/** One call to the CA's admin API over mutual TLS with the admin's certificate; the JSON answer, or a CaError with the CA's code. */
export async function adminCall(ca: { url: URL; timeoutMs: number }, as: TlsMaterial, path: string, body?: object): Promise<Record<string, unknown>> {
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
  let status: number;
  let text: string;
  try {
    const response = await got(new URL(path.replace(/^\//, ''), ca.url), {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { json: body }),
      agent: { https: agent },
      https: { certificateAuthority: as.caPem, certificate: as.certificatePem, key: as.keyPem, minVersion: 'TLSv1.2' },
      timeout: { request: ca.timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'text',
    });
    status = response.statusCode;
    text = response.body;
  } catch (error) {
    throw new CaError((error as NodeJS.ErrnoException).code ?? 'UNREACHABLE', `cannot reach the CA at ${ca.url.origin}: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    agent.destroy();
  }
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CaError('CA_BAD_RESPONSE', `the CA answered ${status} with a body that is not JSON`, status);
  }
  if (status < 200 || status > 299) throw new CaError(String(answer['error'] ?? `HTTP_${status}`), String(answer['message'] ?? `the CA answered ${status}`), status);
  return answer;
}
