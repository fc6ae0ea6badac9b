# One Dockerfile, one target per container:
#
#   docker build --target pki    -t mtls-demo/pki .
#   docker build --target server -t mtls-demo/server .
#   docker build --target client -t mtls-demo/client .
#   docker build --target agent  -t mtls-demo/agent .
#
# The three share the base image and one `npm ci`, so building all of them
# costs little more than building one. Each final stage holds only the code
# its container runs and the one runtime dependency that code imports.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- dependencies ----------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Per role, npm prune drops the other two dependencies and whatever only
# they need, as the lock file resolves it (no download, no new versions).
FROM deps AS deps-pki
RUN npm pkg delete dependencies.koa dependencies.got \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && find node_modules -type d -empty -delete

# The server keeps node-forge to read the ASN.1 of crl.pem (Node loads a CRL
# into TLS but cannot read one; signatures are checked with node:crypto).
FROM deps AS deps-server
RUN npm pkg delete dependencies.got \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && find node_modules -type d -empty -delete

FROM deps AS deps-client
RUN npm pkg delete dependencies.node-forge dependencies.koa \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && find node_modules -type d -empty -delete

FROM deps AS deps-agent
RUN npm pkg delete dependencies.koa \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && find node_modules -type d -empty -delete

FROM deps AS deps-ca
RUN npm pkg delete dependencies.got \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && find node_modules -type d -empty -delete

# ---- common runtime --------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# The compile cache (V8 code and stripped TypeScript) is filled at build time
# below, so start-up is faster even on a read-only root filesystem. Node
# keeps one cache per uid: it must be filled as node, the runtime user.
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
# For "type": "module"; npm is never run in these images.
COPY package.json ./
COPY core core

# ---- pki: issues the certificates into the volumes mounted under /out ------
FROM runtime AS pki
COPY --from=deps-pki /deps/node_modules node_modules
COPY pki pki
# The failure scenarios: which demo identities --with-demo-identities issues.
COPY demo/scenarios.ts demo/scenarios.ts
# Mount points owned by node: Docker gives an empty new named volume the
# owner of the image directory it is mounted on, so node can write into it.
RUN install -d -o node -g node /out /out/ca /out/server /out/client "$NODE_COMPILE_CACHE"
# The failure demo's folders (demo-<scenario>), one per entry of
# demo/scenarios.ts, read from the table itself rather than listed here.
RUN env -u NODE_COMPILE_CACHE node -e "import('./pki/demo-folders.ts').then(({ DEMO_FOLDERS }) => { \
      const fs = require('node:fs'); \
      for (const folder of DEMO_FOLDERS) { fs.mkdirSync('/out/' + folder, { mode: 0o755 }); fs.chownSync('/out/' + folder, 1000, 1000); } })"
# node, as a number so that a runtime can check it is not root.
USER 1000:1000
RUN node pki/main.ts --help >/dev/null
ENTRYPOINT ["node", "pki/main.ts"]
CMD ["--help"]

# ---- server: mutual TLS on 9443, health listener on 127.0.0.1:9444 ---------
FROM runtime AS server
COPY --from=deps-server /deps/node_modules node_modules
COPY services/server services/server
# /tls: where the server's own volume is mounted (read-only).
RUN install -d -o node -g node /tls "$NODE_COMPILE_CACHE"
USER 1000:1000
# Loading each entry point fills the compile cache and proves it loads:
# without TLS_DIR the server stops with exit code 2 (bad configuration)
# only once every module was imported; a broken import would exit 1.
RUN { TLS_DIR= node services/server/main.ts >/dev/null 2>&1; [ $? -eq 2 ]; } \
 && { HEALTH_PORT= node services/server/healthcheck.ts 2>&1 | grep -q 'HEALTH_PORT is not set'; }
# The health listener is on in the image only (a server's default is off).
ENV TLS_DIR=/tls HEALTH_PORT=9444
EXPOSE 9443
# Proves the mTLS listener is up: the loopback health port answers 200 only
# while it listens, over TLS, with our own certificate. (No start interval:
# Docker 20.10 does not know it, so the interval is short.)
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "services/server/healthcheck.ts"]
ENTRYPOINT ["node", "services/server/main.ts"]

# ---- client: one request over mutual TLS, then exit 0 / 1 / 2 --------------
FROM runtime AS client
COPY --from=deps-client /deps/node_modules node_modules
COPY services/client services/client
RUN install -d -o node -g node /tls "$NODE_COMPILE_CACHE"
USER 1000:1000
RUN { TLS_DIR= node services/client/main.ts >/dev/null 2>&1; [ $? -eq 2 ]; }
ENV TLS_DIR=/tls
ENTRYPOINT ["node", "services/client/main.ts"]

# ---- agent: keeps one workload's certificate renewed (profile lifecycle) ---
FROM runtime AS agent
COPY --from=deps-agent /deps/node_modules node_modules
COPY services/agent services/agent
# The admin one-shot (profile lifecycle) runs from this image too.
COPY services/admin services/admin
# /tls: the workload's volume (the agent writes it, the workload reads it);
# /bootstrap: the agent's own volume with the enrollment token (read-only).
RUN install -d -o node -g node /tls /bootstrap /admin "$NODE_COMPILE_CACHE"
USER 1000:1000
# Loads every module (filling the compile cache): without TLS_DIR the agent
# stops with exit code 2 only after every import succeeded.
RUN { TLS_DIR= node services/agent/main.ts >/dev/null 2>&1; [ $? -eq 2 ]; } \
 && { TLS_DIR= node services/agent/healthcheck.ts 2>&1 | grep -q 'TLS_DIR is required'; }
ENV TLS_DIR=/tls BOOTSTRAP_DIR=/bootstrap
# Healthy once /tls holds a valid certificate and key: the workload waits for it.
HEALTHCHECK --interval=2s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "services/agent/healthcheck.ts"]
ENTRYPOINT ["node", "services/agent/main.ts"]

# ---- ca: the CA service (profile lifecycle): init once, then serve ---------
FROM runtime AS ca
COPY --from=deps-ca /deps/node_modules node_modules
COPY services/ca services/ca
# /ca: the CA's own volume (key 0600, dir 0700). /bootstrap/*: where init
# writes each agent's token and CA certificate (the compose file mounts one
# volume per agent there); owned by node so that new volumes are writable.
RUN install -d -m 0700 -o node -g node /ca \
 && install -d -o node -g node /bootstrap /bootstrap/server /bootstrap/client /bootstrap/client2 /bootstrap/admin "$NODE_COMPILE_CACHE"
USER 1000:1000
RUN node services/ca/main.ts --help >/dev/null
# OPENSSL_CONF: no TLS 1.3 session tickets, which the CA never resumes (services/ca/openssl.cnf says why).
ENV CA_DIR=/ca OPENSSL_CONF=/app/services/ca/openssl.cnf
EXPOSE 9000
ENTRYPOINT ["node", "services/ca/main.ts"]
CMD ["serve"]
