# syntax=docker/dockerfile:1
# Pinset registry image, in two stages:
#   build    all dependencies; compiles src/ to dist/ (`npm run build`, which also makes the
#            embedded database template a fresh embedded start copies)
#   runtime  production dependencies only, the compiled dist/, the SQL migrations and the
#            OpenAPI document the server reads at run time; `node dist/main.js` as user node.
#            No TypeScript and no tsx in this image.
# test/e2e/dockerfile.e2e.test.ts runs these steps without a Docker engine.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the build is the next step.
# The npm cache is a build cache mount: reused between builds, never part of a layer.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    PINSET_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
COPY openapi ./openapi
RUN mkdir -p /data && chown node:node /data

USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
