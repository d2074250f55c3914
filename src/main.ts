import type { Server } from "node:http";
import { createApp } from "./app.js";
import { ensureAdminToken } from "./auth/bootstrap-admin.js";
import { createBlobStore } from "./blobs/create.js";
import { ConfigError, loadConfig } from "./config.js";
import { defaultConsoleDir, loadConsoleBundle } from "./console/bundle.js";
import { connectPostgres } from "./db/connect.js";
import { DataDirLockedError } from "./db/data-dir-lock.js";
import { openDatabase } from "./db/open.js";
import { createChangeFeed } from "./environments/change-feed.js";
import { closeHttpServer, createHttpServer } from "./http/server.js";
import { createLogger } from "./logger.js";

/** Composition root: read config, build dependencies, start the server. Nothing else. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });
  const database = await openDatabase(config);
  const blobStore = createBlobStore(config);
  await blobStore.check();
  const admin = await ensureAdminToken({ db: database.db, dataDir: config.dataDir, ...(config.adminToken ? { adminToken: config.adminToken } : {}) });

  // Listening before the first request, so caches trust the feed from the start.
  const changeFeed = createChangeFeed(database, { logger });
  changeFeed.start();
  const consoleBundle = await loadConsoleBundle(defaultConsoleDir());
  // Garbage collection scans every blob row: on Postgres it gets a small pool without the request-path budgets.
  const gcDatabase = config.databaseUrl ? connectPostgres({ url: config.databaseUrl, max: 2 }) : undefined;
  const { listener, background, services } = createApp({
    db: database.db,
    databaseAnswers: database.answers,
    blobStore,
    logger,
    config,
    changeFeed,
    console: consoleBundle ?? "missing",
    ...(gcDatabase ? { gc: { db: gcDatabase.db } } : {}),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = createHttpServer(listener, { keepAliveTimeoutMs: config.http.keepAliveTimeoutMs, logger }).listen(config.port, config.host, () => resolve(s));
    s.once("error", reject);
  });

  const url = `http://${config.host}:${config.port}`;
  const storage = config.databaseUrl ? "Postgres" : `embedded Postgres in ${config.dataDir}/db`;
  const blobs = config.s3 ? `S3 bucket ${config.s3.bucket}` : `${config.dataDir}/blobs`;
  process.stdout.write(`Pinset listening on ${url}\n  database: ${storage}\n  blobs:    ${blobs}\n`);
  process.stdout.write(consoleBundle ? `  console:  ${url}/\n` : `  console:  not built; run \`npm run build:console\` and restart\n`);
  if (admin.source === "generated") {
    process.stdout.write(`  admin token (shown once, also saved to ${admin.file}):\n    ${admin.secret}\n`);
  } else if (admin.source === "existing") {
    process.stdout.write(`  admin token: in ${admin.file} (written at first start), or set PINSET_ADMIN_TOKEN\n`);
  } else {
    process.stdout.write(`  admin token: PINSET_ADMIN_TOKEN\n`);
  }
  logger.info({ url, database: database.kind, blobs: blobStore.kind }, "pinset started");
  background.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const closed = closeHttpServer(server);
    // Watch streams never end by themselves: end them so the server can close (clients reconnect elsewhere).
    services.watchHub.closeAll();
    await closed;
    await changeFeed.stop();
    // Before the database closes: in-flight webhook deliveries give their rows back.
    await background.stop().catch((err: unknown) => logger.warn({ err }, "background tasks did not stop cleanly"));
    await gcDatabase?.close();
    await database.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) {
    process.stderr.write(`pinset: ${err.message}\n`);
  } else {
    process.stderr.write(`pinset: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
