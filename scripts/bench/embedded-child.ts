/**
 * One embedded registry for the `embedded` bench part, in a process of its own:
 * `tsx scripts/bench/embedded-child.ts <worker|thread> <data-dir> <admin-token>` prints
 * {"url": …} once it listens, and stops on SIGTERM.
 *
 * `worker` opens the database as `npm start` does (openDatabase: the data-dir lock, the
 * template, PGlite in a worker thread); `thread` is the same but with PGlite on the HTTP thread
 * (connectPglite), as every embedded registry ran before issue 20 — the same-run baseline. The
 * application around it is the same as main.ts builds (change feed, fs blobs, LOG_LEVEL info).
 */
import { KyselyTokenStore } from "../../src/auth/token-store.js";
import path from "node:path";
import { createApp } from "../../src/app.js";
import { ensureAdminToken } from "../../src/auth/bootstrap-admin.js";
import { FsBlobStore } from "../../src/blobs/fs.js";
import { connectPglite, type DatabaseHandle } from "../../src/db/connect.js";
import { acquireDataDirLock } from "../../src/db/data-dir-lock.js";
import { seedFromTemplate } from "../../src/db/embedded-template.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { openDatabase } from "../../src/db/open.js";
import { createChangeFeed } from "../../src/environments/change-feed.js";
import { adoptExpressPrototypes, createHttpServer } from "../../src/http/server.js";
import { createLogger } from "../../src/logger.js";

const [mode, dataDir, adminToken] = process.argv.slice(2);
if ((mode !== "worker" && mode !== "thread") || !dataDir || !adminToken) throw new Error("usage: embedded-child <worker|thread> <data-dir> <admin-token>");

async function openInThread(dir: string): Promise<DatabaseHandle> {
  const lock = await acquireDataDirLock(dir);
  await seedFromTemplate(path.join(dir, "db"));
  const handle = await connectPglite({ dir: path.join(dir, "db") });
  await migrateToLatest(handle.db);
  return { ...handle, close: async () => (await handle.close(), await lock.release()) };
}

const database = mode === "worker" ? await openDatabase({ dataDir, databaseUrl: undefined }) : await openInThread(dataDir);
const logger = createLogger({ level: "info", destination: process.stderr });
await ensureAdminToken({ tokens: new KyselyTokenStore(database.db), adminToken, dataDir });
const changeFeed = createChangeFeed(database, { logger });
changeFeed.start();
await changeFeed.whenLive();
const app = createApp({
  db: database.db,
  blobStore: new FsBlobStore(path.join(dataDir, "blobs")),
  logger,
  config: { limits: { maxJsonBytes: 1024 * 1024, maxBlobBytes: 64 * 1024 * 1024 } },
  changeFeed,
});
const server = createHttpServer(app.listener, { logger });
adoptExpressPrototypes(server, app.app);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (typeof address === "object" && address) process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close();
  void changeFeed
    .stop()
    .then(() => database.close())
    .finally(() => process.exit(0));
});
