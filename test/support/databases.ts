import { randomBytes } from "node:crypto";
import pg from "pg";
import { DEFAULT_DATABASE_BUDGETS, type DatabaseBudgets } from "../../src/db/budgets.js";
import { connectPglite, connectPgliteWorker, connectPostgres, type DatabaseHandle } from "../../src/db/connect.js";
import { migrateToLatest } from "../../src/db/migrate.js";

/** `pglite-worker`: PGlite in a worker thread, as the registry's embedded mode runs it (db/connect.ts). */
export type DatabaseBackend = "pglite" | "pglite-worker" | "postgres";

/** The real-Postgres suite runs when CI (or you) set PINSET_TEST_DATABASE_URL. */
export const POSTGRES_URL = process.env.PINSET_TEST_DATABASE_URL;

export function databaseBackends(): DatabaseBackend[] {
  return POSTGRES_URL ? ["pglite", "postgres"] : ["pglite"];
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Migrates the Postgres database at `url` as the server does at start (a connection of its own,
 * no time budgets), then connects with `budgets` (the production defaults unless given).
 */
export async function migrateAndConnect(url: string, budgets: Readonly<DatabaseBudgets> = DEFAULT_DATABASE_BUDGETS): Promise<DatabaseHandle> {
  const migrator = connectPostgres({ url, max: 1 });
  try {
    await migrateToLatest(migrator.db);
  } finally {
    await migrator.close();
  }
  return connectPostgres({ url, budgets });
}

/**
 * A fresh, migrated database owned by one test file: an in-memory PGlite, or a new
 * `pinset_test_<random>` database on the Postgres server (its handle time-budgeted like the
 * server's: the production defaults unless `budgets` says otherwise), dropped again by `drop()`.
 */
export async function createTestDatabase(
  backend: DatabaseBackend,
  options: { budgets?: Readonly<DatabaseBudgets> } = {},
): Promise<{ handle: DatabaseHandle; url?: string; drop(): Promise<void> }> {
  if (backend !== "postgres") {
    // PINSET_TEST_PGLITE=worker runs a "pglite" suite against the worker thread too.
    const worker = backend === "pglite-worker" || process.env.PINSET_TEST_PGLITE === "worker";
    const handle = worker ? await connectPgliteWorker({}) : await connectPglite({});
    await migrateToLatest(handle.db);
    return { handle, drop: () => handle.close() };
  }
  if (!POSTGRES_URL) throw new Error("PINSET_TEST_DATABASE_URL is not set");
  const name = `pinset_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(POSTGRES_URL, name);
  const handle = await migrateAndConnect(url, options.budgets);
  return {
    handle,
    url,
    async drop() {
      await handle.close();
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
