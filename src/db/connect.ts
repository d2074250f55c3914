import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import type { Database } from "./schema.js";

export type DatabaseKind = "postgres" | "pglite";

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** The PGlite instance in embedded mode (for LISTEN within the process, dumps in tests). */
  pglite?: PGlite;
  /** The pg pool in server mode. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Ids, sizes and counts are bigint in SQL but always below 2^53: read them as numbers. */
function typeParser(oid: number, format?: "text" | "binary") {
  if (oid === INT8_OID) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format as "text");
}

export function connectPostgres(options: { url: string; max?: number }): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next query reports the outage instead.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: "postgres", pool, close: () => db.destroy() };
}

/** Embedded Postgres in `dir`, or in memory when `dir` is undefined (tests). */
export async function connectPglite(options: { dir?: string }): Promise<DatabaseHandle> {
  if (options.dir) await mkdir(path.dirname(options.dir), { recursive: true });
  const pglite = options.dir ? new PGlite(options.dir) : new PGlite();
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return { db, kind: "pglite", pglite, close: () => db.destroy() };
}
