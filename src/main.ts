import type { Server, RequestListener } from "node:http";
import { loadConfig, type Config } from "./config.js";
import type { Logger } from "./logger.js";
import { classifyStartFailure, describePostgres, formatStartFailure } from "./start-up-errors.js";

/**
 * Composition root: read config, build dependencies, start the server. Nothing else.
 *
 * Order matters for a user watching the terminal: the port is bound first (a busy port stops
 * the start before anything is written to the data directory), a line says at once what is
 * being started, and the rest of the application is imported only then (its imports and the
 * database's start-up are most of the start time). Until the application is ready the port
 * answers 503 (`/healthz` 200: the process is alive).
 */
let context: { port?: number; host?: string; databaseUrl?: string } = {};
let generatedToken: { secret: string; file: string; shown: boolean } | undefined;

const say = (line: string) => process.stdout.write(`${line}\n`);

const starting: RequestListener = (req, res) => {
  const alive = req.url === "/healthz";
  res.writeHead(alive ? 200 : 503, { "content-type": alive ? "application/json" : "application/problem+json", "retry-after": "1", connection: "close" });
  res.end(JSON.stringify(alive ? { status: "starting" } : { type: "about:blank", title: "Starting", status: 503, code: "starting", detail: "Pinset is starting; try again in a moment" }));
};

async function listen(config: Config, logger: Logger, handler: () => RequestListener): Promise<Server> {
  const { createHttpServer } = await import("./http/server.js");
  return new Promise((resolve, reject) => {
    const s = createHttpServer((req, res) => handler()(req, res), { keepAliveTimeoutMs: config.http.keepAliveTimeoutMs, logger });
    s.once("error", reject);
    s.listen(config.port, config.host, () => {
      s.off("error", reject);
      resolve(s);
    });
  });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  context = { port: config.port, host: config.host, ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) };
  const { createLogger } = await import("./logger.js");
  const logger = createLogger({ level: config.logLevel });
  let listener = starting;
  const server = await listen(config, logger, () => listener);
  say(config.databaseUrl ? `connecting to Postgres at ${describePostgres(config.databaseUrl).shown} …` : `starting the embedded database in ${config.dataDir}/db …`);

  const [{ createApp }, { ensureAdminToken }, { createBlobStore }, { openDatabase }, { createChangeFeed }, { closeHttpServer, adoptExpressPrototypes }, { defaultConsoleDir, loadConsoleBundle }, { connectPostgres }, { KyselyTokenStore }] = await Promise.all([
    import("./app.js"),
    import("./auth/bootstrap-admin.js"),
    import("./blobs/create.js"),
    import("./db/open.js"),
    import("./environments/change-feed.js"),
    import("./http/server.js"),
    import("./console/bundle.js"),
    import("./db/connect.js"),
    import("./auth/token-store.js"),
  ]);
  const database = await openDatabase(config);
  const blobStore = await createBlobStore(config);
  await blobStore.check();
  const admin = await ensureAdminToken({ tokens: new KyselyTokenStore(database.db), dataDir: config.dataDir, ...(config.adminToken ? { adminToken: config.adminToken } : {}) });
  if (admin.source === "generated") generatedToken = { secret: admin.secret, file: admin.file, shown: false };

  // Listening before the first request, so caches trust the feed from the start.
  const changeFeed = createChangeFeed(database, { logger });
  changeFeed.start();
  const consoleBundle = await loadConsoleBundle(defaultConsoleDir());
  // Garbage collection scans every blob row: on Postgres it gets a small pool without the request-path budgets.
  const gcDatabase = config.databaseUrl ? connectPostgres({ url: config.databaseUrl, max: 2 }) : undefined;
  const { listener: app, app: express, background, services } = createApp({
    db: database.db,
    databaseAnswers: database.answers,
    blobStore,
    logger,
    config,
    changeFeed,
    console: consoleBundle ?? "missing",
    ...(gcDatabase ? { gc: { db: gcDatabase.db } } : {}),
  });
  listener = app;
  adoptExpressPrototypes(server, express);

  const url = `http://${config.host}:${config.port}`;
  const storage = config.databaseUrl ? "Postgres" : `embedded Postgres in ${config.dataDir}/db`;
  const blobs = config.s3 ? `S3 bucket ${config.s3.bucket}` : `${config.dataDir}/blobs`;
  // One write, so whoever reads up to the listen line (a test, a supervisor) gets every line with it.
  const lines = [`Pinset listening on ${url}`, `  database: ${storage}`, `  blobs:    ${blobs}`];
  lines.push(consoleBundle ? `  console:  ${url}/` : "  console:  not built; run `npm run build:console` and restart");
  if (admin.source === "generated") {
    lines.push(`  admin token (shown once, also saved to ${admin.file}):`, `    ${admin.secret}`);
    generatedToken!.shown = true;
  } else if (admin.source === "existing") {
    lines.push(`  admin token: in ${admin.file} (written at first start), or set PINSET_ADMIN_TOKEN`);
  } else {
    lines.push("  admin token: PINSET_ADMIN_TOKEN");
  }
  process.stdout.write(`${lines.join("\n")}\n`);
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
  // A token generated before the failure is in the data directory: say where, once.
  if (generatedToken && !generatedToken.shown) process.stdout.write(`  admin token (generated, saved to ${generatedToken.file}):\n    ${generatedToken.secret}\n`);
  const failure = classifyStartFailure(err, context);
  process.stderr.write(formatStartFailure(failure));
  process.exit(failure.exitCode);
});
