import type { Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { createApp, type AppDeps, type PinsetApp } from "../../src/app.js";
import { ensureAdminToken } from "../../src/auth/bootstrap-admin.js";
import { KyselyTokenStore } from "../../src/auth/token-store.js";
import { FsBlobStore } from "../../src/blobs/fs.js";
import { createS3Client, S3BlobStore } from "../../src/blobs/s3.js";
import type { BlobStore } from "../../src/blobs/ports.js";
import { HTTP_DEFAULTS, type Config } from "../../src/config.js";
import { DEFAULT_DATABASE_BUDGETS, type DatabaseBudgets } from "../../src/db/budgets.js";
import { connectPostgres } from "../../src/db/connect.js";
import { createChangeFeed, type ChangeFeed } from "../../src/environments/change-feed.js";
import { adoptExpressPrototypes, createHttpServer } from "../../src/http/server.js";
import { createLogger } from "../../src/logger.js";
import { DEFAULT_SCHEMA_SETTINGS } from "../../src/schemas/settings.js";
import { createTestDatabase, databaseBackends, migrateAndConnect, type DatabaseBackend } from "./databases.js";
import { startS3 } from "./s3.js";

export interface Backend {
  name: string;
  database: DatabaseBackend;
  blobs: "fs" | "s3";
}

/** PGlite + filesystem always; real Postgres + S3 (s3rver) when PINSET_TEST_DATABASE_URL is set. */
export function backends(): Backend[] {
  return databaseBackends().map((database) =>
    database === "pglite" ? { name: "pglite+fs", database, blobs: "fs" as const } : { name: "postgres+s3", database, blobs: "s3" as const },
  );
}

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** Collects every log line so tests can assert on logs (trace ids, no secrets). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void) {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    cb();
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

export interface TestApp {
  url: string;
  backend: Backend;
  pinset: PinsetApp;
  db: Awaited<ReturnType<typeof createTestDatabase>>;
  databaseUrl?: string;
  blobStore: BlobStore;
  /** The filesystem blob store's root (pglite+fs); its `tmp/` holds uploads in progress. */
  blobDir?: string;
  /** The HTTP server (createHttpServer, as main.ts runs it). */
  server: Server;
  logs: LogCapture;
  /** The instance's change feed (LISTEN), listening when startTestApp returns; undefined with `changeFeed: false`. */
  feed?: ChangeFeed;
  /** fetch against the app with the admin token (override headers to change it). */
  request(method: string, pathname: string, init?: { body?: unknown; headers?: Record<string, string>; raw?: BodyInit; token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A second app instance on the database (and blob store) of `t`, as another registry process
 * would run: on Postgres it gets its own connection pool, so anything that must hold across
 * instances is enforced by the database. PGlite has a single session per process, so there
 * the instance shares `t`'s connection. Closing it leaves `t`'s database alone.
 */
async function sharedDatabase(t: TestApp, budgets: Readonly<DatabaseBudgets>): Promise<TestApp["db"]> {
  if (t.backend.database !== "postgres") return { handle: t.db.handle, drop: async () => {} };
  if (!t.databaseUrl) throw new Error("the shared test app has no database url");
  const handle = connectPostgres({ url: t.databaseUrl, budgets });
  return { handle, url: t.databaseUrl, drop: () => handle.close() };
}

/** A Postgres database the test manages itself (e.g. a private cluster it stops): migrated, never dropped. */
async function existingDatabase(url: string, budgets: Readonly<DatabaseBudgets>): Promise<TestApp["db"]> {
  const handle = await migrateAndConnect(url, budgets);
  return { handle, url, drop: () => handle.close() };
}

/**
 * `rateLimit` is off unless a test asks for it (tests fire bursts on purpose).
 * `sharedDatabaseOf`: run as a second instance on that app's database (see sharedDatabase).
 */
export async function startTestApp(
  backend: Backend,
  options: {
    limits?: Partial<Config["limits"]>;
    rateLimit?: Config["rateLimit"];
    sharedDatabaseOf?: TestApp;
    /** Start the background tasks (webhook delivery, …); stopped again by close(). */
    background?: boolean;
    webhookDelivery?: AppDeps["webhookDelivery"];
    /** The cross-instance change feed, as production runs it; on unless `false` (object: listener tuning). */
    changeFeed?: boolean | { initialBackoffMs?: number; maxBackoffMs?: number; pingIntervalMs?: number };
    /** Run on this (empty or migrated) Postgres database instead of a fresh test database; left in place by close(). */
    databaseUrl?: string;
    watch?: AppDeps["watch"];
    /** Time budgets (Postgres) and how long resolve/watch/known tokens wait before answering from memory; production defaults otherwise. */
    database?: Partial<Config["database"]>;
    readyzTimeoutMs?: number;
    /** Watch stream caps per token and per address (off unless given, like rate limits). */
    watchLimits?: Config["watchLimits"];
    /** Keep-alive and body time-outs; production defaults unless given. */
    http?: Partial<Config["http"]>;
    /** Schema limits and worker settings (defaults otherwise). */
    schemas?: Partial<Config["schemas"]>;
    /**
     * PINSET_WEBHOOK_ALLOW_PRIVATE: on by default here, because test receivers listen on
     * 127.0.0.1; the tests of the refusal turn it off.
     */
    allowPrivateWebhooks?: boolean;
    /** The Prometheus analysis loop's tick, fetch and clock (runs only with `background`). */
    analysis?: AppDeps["analysis"];
    /** The web console's bundle (or "missing"); left out: no console routes. */
    console?: AppDeps["console"];
    /** Garbage collection tuning and step hooks (see src/gc/collector.ts). */
    gc?: AppDeps["gc"];
    /** PINSET_ANALYSIS_TICK_MS: the schedule loop's tick (it runs with `background: true`). */
    analysisTickMs?: number;
  } = {},
): Promise<TestApp> {
  const shared = options.sharedDatabaseOf;
  const budgets = { ...DEFAULT_DATABASE_BUDGETS, ...options.database };
  const db = shared
    ? await sharedDatabase(shared, budgets)
    : options.databaseUrl
      ? await existingDatabase(options.databaseUrl, budgets)
      : await createTestDatabase(backend.database, { budgets });
  const tmp = await mkdtemp(path.join(tmpdir(), "pinset-test-"));
  const s3 = backend.blobs === "s3" && !shared ? await startS3() : undefined;
  const blobDir = shared ? shared.blobDir : s3 ? undefined : path.join(tmp, "blobs");
  const blobStore: BlobStore = shared?.blobStore ?? (blobDir ? new FsBlobStore(blobDir) : new S3BlobStore(createS3Client(s3!.config), s3!.config.bucket));
  const logs = new LogCapture();
  const logger = createLogger({ level: "info", destination: logs });
  if (!shared) await ensureAdminToken({ tokens: new KyselyTokenStore(db.handle.db), adminToken: ADMIN_TOKEN, dataDir: tmp });
  const feed = options.changeFeed === false ? undefined : createChangeFeed(db.handle, { logger, ...(typeof options.changeFeed === "object" ? options.changeFeed : {}) });
  feed?.start();
  await feed?.whenLive();
  const pinset = createApp({
    db: db.handle.db,
    blobStore,
    logger,
    config: {
      limits: { maxJsonBytes: 1024 * 1024, maxBlobBytes: 64 * 1024 * 1024, ...options.limits },
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
      ...(options.database?.staleAfterMs !== undefined ? { database: { ...budgets, staleAfterMs: options.database.staleAfterMs } } : {}),
      ...(options.readyzTimeoutMs !== undefined ? { readyzTimeoutMs: options.readyzTimeoutMs } : {}),
      ...(options.watchLimits ? { watchLimits: options.watchLimits } : {}),
      http: {
        keepAliveTimeoutMs: options.http?.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs,
        bodyIdleTimeoutMs: options.http?.bodyIdleTimeoutMs ?? HTTP_DEFAULTS.bodyIdleTimeoutMs,
        jsonBodyTimeoutMs: options.http?.jsonBodyTimeoutMs ?? HTTP_DEFAULTS.jsonBodyTimeoutMs,
      },
      ...(options.schemas ? { schemas: { ...DEFAULT_SCHEMA_SETTINGS, ...options.schemas } } : {}),
      webhooks: { allowPrivate: options.allowPrivateWebhooks ?? true },
      ...(options.analysisTickMs !== undefined ? { analysisTickMs: options.analysisTickMs } : {}),
    },
    ...(db.handle.answers ? { databaseAnswers: db.handle.answers } : {}),
    ...(options.webhookDelivery ? { webhookDelivery: options.webhookDelivery } : {}),
    ...(feed ? { changeFeed: feed } : {}),
    ...(options.watch ? { watch: options.watch } : {}),
    ...(options.analysis ? { analysis: options.analysis } : {}),
    ...(options.console ? { console: options.console } : {}),
    ...(options.gc ? { gc: options.gc } : {}),
  });
  // The server main.ts runs (keep-alive, time-outs, 100-continue), so tests exercise it.
  const server = createHttpServer(pinset.listener, { logger, keepAliveTimeoutMs: options.http?.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs });
  adoptExpressPrototypes(server, pinset.app);
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  if (options.background) pinset.background.start();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    backend,
    pinset,
    db,
    ...(db.url ? { databaseUrl: db.url } : {}),
    blobStore,
    ...(blobDir ? { blobDir } : {}),
    server,
    logs,
    ...(feed ? { feed } : {}),
    request(method, pathname, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      const token = init.token === undefined ? ADMIN_TOKEN : init.token;
      if (token !== null) headers.authorization ??= `Bearer ${token}`;
      let body: BodyInit | undefined = init.raw;
      if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers["content-type"] ??= "application/json";
      }
      return fetch(`${url}${pathname}`, { method, headers, ...(body !== undefined ? { body, duplex: "half" } : {}) } as RequestInit);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pinset.background.stop();
      await feed?.stop();
      await db.drop();
      await s3?.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
