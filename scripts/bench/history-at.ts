import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { sql } from "kysely";
import pg from "pg";
import { connectPostgres } from "../../src/db/connect.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { KyselyEnvironmentStore } from "../../src/environments/store.js";
import { median } from "./stats.js";

/**
 * `resolve?at=` on a long history: the lookup of the entry in force at a time (EnvironmentStore
 * .entryAt) on environments with 1 000 and 100 000 history entries, at random times spread over
 * the history, in a database of its own on the bench's Postgres. Beside it, the same lookup as
 * it was before it was ordered by its index (`order by revision desc` with the filter on `at`:
 * Postgres walks the primary key backwards and discards every later entry).
 */
export interface HistoryAtResult {
  sizes: Array<{ entries: number; indexedMs: number; byRevisionMs: number }>;
  lookups: number;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function historyAtBench(adminUrl: string, options: { lookups: number; log: (line: string) => void }): Promise<HistoryAtResult> {
  const name = `pinset_bench_history_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const handle = connectPostgres({ url: withDatabase(adminUrl, name), max: 2 });
  try {
    const db = handle.db;
    await migrateToLatest(db);
    const store = new KyselyEnvironmentStore(db);
    await sql`insert into projects (name) values ('bench')`.execute(db);
    const SIZES = [1_000, 100_000];
    for (const entries of SIZES) {
      const env = `env-${entries}`;
      options.log(`history-at: writing ${entries.toLocaleString("en")} history entries`);
      await sql`insert into environments (project, name, revision) values ('bench', ${env}, ${entries})`.execute(db);
      // One entry a minute, as a busy environment's deploys, rollout steps and freezes would be.
      await sql`
        insert into environment_history (project, environment, revision, action, actor, at)
        select 'bench', ${env}, r, 'deploy', 'bench', timestamptz '2026-01-01T00:00:00Z' + r * interval '1 minute'
        from generate_series(1, ${entries}) as r`.execute(db);
    }
    // A registry's history is old rows, vacuumed: without this the first reads of freshly
    // inserted rows set their hint bits, a write per page that only the larger history pays.
    await sql`vacuum (analyze) environment_history`.execute(db);
    const byRevision = (key: { project: string; environment: string }, at: Date) =>
      db
        .selectFrom("environment_history")
        .selectAll()
        .where("project", "=", key.project)
        .where("environment", "=", key.environment)
        .where("at", "<", sql<Date>`${at.toISOString()}::timestamptz + interval '1 millisecond'`)
        .orderBy("revision", "desc")
        .limit(1)
        .executeTakeFirst();
    const timings = SIZES.map((entries) => ({ entries, key: { project: "bench", environment: `env-${entries}` }, indexed: [] as number[], old: [] as number[] }));
    // Interleaved, lookup by lookup and size by size, so drift of the machine hits both sizes and both orders alike.
    for (let i = 0; i < options.lookups; i++) {
      for (const size of timings) {
        const at = new Date(Date.parse("2026-01-01T00:00:00Z") + Math.floor(Math.random() * size.entries) * 60_000 + 30_000);
        let t0 = performance.now();
        const a = await store.entryAt(size.key, at);
        size.indexed.push(performance.now() - t0);
        t0 = performance.now();
        const b = await byRevision(size.key, at);
        size.old.push(performance.now() - t0);
        if (a?.revision !== b?.revision) throw new Error(`history-at: the two lookups disagree at ${at.toISOString()}: ${a?.revision} vs ${b?.revision}`);
      }
    }
    const sizes: HistoryAtResult["sizes"] = timings.map((t) => ({ entries: t.entries, indexedMs: median(t.indexed), byRevisionMs: median(t.old) }));
    return { sizes, lookups: options.lookups };
  } finally {
    await handle.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
