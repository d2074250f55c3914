import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { AnswerWatch } from "./answer-watch.js";
import { BudgetedPool } from "./budgeted-pool.js";
import type { DatabaseBudgets } from "./budgets.js";
import type { EmbeddedNotifier } from "./pglite-listener.js";
import { PgliteWorkerClient } from "./pglite-worker-client.js";
import { PgliteWorkerDialect } from "./pglite-worker-dialect.js";
import type { Database } from "./schema.js";

export type DatabaseKind = "postgres" | "pglite";

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** The PGlite instance when embedded on this thread (dumps, checkpoints in tests and tooling). */
  pglite?: PGlite;
  /** Embedded mode (either thread): where the change feed LISTENs. */
  embedded?: EmbeddedNotifier;
  /** The pg pool in server mode. */
  pool?: pg.Pool;
  /** Server mode with time budgets: whether the database answers (metrics, the change feed's check). */
  answers?: AnswerWatch;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Ids, sizes and counts are bigint in SQL but always below 2^53: read them as numbers. */
function typeParser(oid: number, format?: "text" | "binary") {
  if (oid === INT8_OID) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format as "text");
}

/**
 * A pg pool behind kysely. With `budgets` (the application's handle) every statement is
 * time-budgeted on the client side (budgeted-pool.ts) and the server cancels a statement that
 * runs longer than the write budget (`statement_timeout`), and the statements built once run
 * prepared unless `preparedStatements` is false (prepared-statements.ts). Without (migrations,
 * test tooling) nothing is cut short: a migration may wait for another instance's or rewrite a
 * large table.
 */
export function connectPostgres(options: { url: string; max?: number; budgets?: Readonly<DatabaseBudgets>; preparedStatements?: boolean }): DatabaseHandle {
  const { budgets } = options;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    // Budgeted, the pool's own wait is only a backstop behind the client's (which answers first, typed).
    connectionTimeoutMillis: budgets ? budgets.acquireMs + 1_000 : 5_000,
    ...(budgets ? { statement_timeout: budgets.writeMs } : {}),
    types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next query reports the outage instead.
  pool.on("error", () => {});
  const budgeted = budgets ? new BudgetedPool(pool, budgets, { prepare: options.preparedStatements }) : undefined;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: budgeted ?? pool }) });
  return { db, kind: "postgres", pool, ...(budgeted ? { answers: budgeted.watch } : {}), close: () => db.destroy() };
}

/**
 * Embedded Postgres in `dir`, or in memory when `dir` is undefined (tests). PGlite and its
 * dialect are imported here, not at the top: a registry on real Postgres never loads them.
 */
export async function connectPglite(options: { dir?: string }): Promise<DatabaseHandle> {
  if (options.dir) await mkdir(path.dirname(options.dir), { recursive: true });
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("kysely-pglite-dialect")]);
  const pglite = options.dir ? new PGlite(options.dir) : new PGlite();
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { db, kind: "pglite", pglite, embedded: pglite, close: () => db.destroy() };
}

/**
 * Embedded Postgres in `dir` (or in memory) running in a worker thread, so its statements never
 * block this thread's event loop (pglite-worker-client.ts). The registry's embedded mode runs
 * this; tests and tooling that want no thread may keep connectPglite.
 */
export async function connectPgliteWorker(options: { dir?: string }): Promise<DatabaseHandle & { worker: PgliteWorkerClient }> {
  if (options.dir) await mkdir(path.dirname(options.dir), { recursive: true });
  const worker = await PgliteWorkerClient.start(options.dir ? { dir: options.dir } : {});
  const db = new Kysely<Database>({ dialect: new PgliteWorkerDialect(worker) });
  return { db, kind: "pglite", embedded: worker, worker, close: () => db.destroy() };
}
