import { sql, type Kysely } from "kysely";
import type { Database } from "../../../src/db/schema.js";

/**
 * Returns a function giving one string that changes when any row of any table is inserted,
 * updated or deleted: per table its row count and the newest row version (`xmin`, the id of
 * the transaction that wrote it). An insert changes the count, an update a row's xmin, a
 * delete the count (and a delete plus an insert the newest xmin).
 *
 * One exception: `blobs.touched_at` is the blob's last use (the garbage collector's grace). An
 * upload refreshes it before reading the body — it must, to order itself with a collection's
 * claim (src/blobs/link-store.ts) — so a refused upload of bytes the store already holds moves
 * it and nothing else. The blobs table is fingerprinted by its content without that column.
 */
export async function databaseFingerprinter(db: Kysely<Database>): Promise<() => Promise<string>> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%'
    order by table_name`.execute(db);
  const parts = tables.rows.map(({ table_name }) =>
    table_name === "blobs"
      ? sql`select 'blobs' as t, count(*)::int as n, coalesce(md5(string_agg(digest || ':' || size || ':' || coalesce(gc_claimed_at::text, '-'), ',' order by digest)), '0') as h from blobs`
      : sql`select ${table_name} as t, count(*)::int as n, coalesce(max(xmin::text::bigint), 0)::text as h from ${sql.table(table_name)}`,
  );
  const query = sql<{ t: string; n: number; h: string }>`${sql.join(parts, sql` union all `)}`;
  return async () => {
    const { rows } = await query.execute(db);
    return rows.map((r) => `${r.t}:${r.n}:${r.h}`).join(" ");
  };
}
