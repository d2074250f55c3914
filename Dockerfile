# Pinset registry image. Runs the TypeScript sources with tsx (no separate build step to
# drift from what the tests ran).
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    PINSET_DATA_DIR=/data

COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY migrations ./migrations
COPY openapi ./openapi
RUN npm ci --no-audit --no-fund && npm prune --omit=dev && mkdir -p /data && chown node:node /data

USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/main.ts"]
