# syntax=docker/dockerfile:1
# terra-fanout worker image.
#   docker build -t terra-fanout .
#   docker run -v $PWD/config:/etc/terra-fanout:ro -p 9464:9464 terra-fanout
# The config is mounted: /etc/terra-fanout/worker.yaml, tenants in the directory it names.
# Metrics at :9464/metrics, liveness at :9464/healthz, readiness at :9464/readyz.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY connectors ./connectors
# Only the worker's sources are in the image, so tsc compiles src/ and connectors/ alone.
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
# package.json is read at run time for the version; node_modules holds production packages only.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The `node` user (uid 1000) comes with the official image.
USER node
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/terra-fanout/worker.yaml"]
