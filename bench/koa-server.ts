// koa and nothing else: bare node:https's options and body, answered by one
// koa middleware the way our server answers "/". Its cost over the bare
// baseline is koa's own (a context per request, its response handling); our
// server's cost over it is what we add (checks, connection tracking, the log).
import Koa from 'koa';
import { BODY, serveMutualTls } from './mtls-floor-server.ts';

const app = new Koa();
app.use((ctx) => {
  ctx.set('Content-Type', 'text/plain; charset=utf-8');
  ctx.body = BODY;
});
serveMutualTls(app.callback());
