# syntax=docker/dockerfile:1
# terra-fanout worker image.
#
#   docker build -t terra-fanout .
#   docker run --rm -p 9464:9464 \
#     -v "$PWD/config/worker.yaml:/etc/terra-fanout/worker.yaml:ro" \
#     -v "$PWD/config/tenants:/etc/terra-fanout/tenants:ro" \
#     -e KAFKA_BROKERS=kafka-1.internal:9092,kafka-2.internal:9092 \
#     terra-fanout
#
# KAFKA_BROKERS must name brokers the container can reach: 127.0.0.1 inside the container is the
# container itself, not the host (on Docker Desktop the host is host.docker.internal).
# Config: /etc/terra-fanout/worker.yaml, tenants in the folder it names (tenants/ beside it).
# HTTP (http.port in the worker file, 9464 by default): /metrics, /healthz, /readyz.
# The process runs as `node` (uid 1000) in /home/node, its own writable folder (a `file`
# destination's relative directory lands there); the application in /app is read-only to it.
#
# Reproducible: the base is pinned by version and digest, packages come from package-lock.json
# (`npm ci`), and the final stage gets compiled JavaScript and production packages only: no
# TypeScript, no dev dependencies, no compilers. test/deploy/image-build.test.ts runs these steps
# in a temporary folder (no container engine there) and checks the result.

# node:26.11.1-bookworm-slim (Node 26 "Lithium", the active LTS line), multi-arch index digest as
# Docker Hub lists it. The tests run on the machine's Node 20 (the lowest version package.json's
# engines allow); the image runs the current LTS.
ARG NODE_IMAGE=node:26.11.1-bookworm-slim@sha256:86f07bc9c5dce4578cf37e5a418b7bfc7f817cda25cde66e2b66e95ed86c4567

# Compiles the TypeScript (dev dependencies needed: typescript, @types/node).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY connectors ./connectors
RUN npx tsc -p tsconfig.json

# Production packages only, installed from the lockfile on their own (nothing left over from the build).
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# glibc malloc: allocations from 1 MiB get their own mapping, returned when freed (src/cli/v8-heap.ts).
ENV MALLOC_MMAP_THRESHOLD_=1048576
# package.json is read at run time for the version.
COPY package.json /app/package.json
COPY --from=dependencies /app/node_modules /app/node_modules
COPY --from=build /app/dist /app/dist
# The official image creates the `node` user (uid 1000) with /home/node as its home, owned by it.
USER node
WORKDIR /home/node
EXPOSE 9464
# Probes the port the worker file configures (the same file as CMD's --config).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/dist/src/cli/healthcheck.js", "/etc/terra-fanout/worker.yaml"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/terra-fanout/worker.yaml"]
