// The floor of our stack: bare node:https with the same mutual-TLS options as
// our server, answering a fixed body, no framework, no logging.
import { BODY, serveMutualTls } from './mtls-floor-server.ts';

serveMutualTls((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(BODY) });
  response.end(BODY);
});
