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
    const sizes: HistoryAtResult["sizes"] = [];
    await sql`insert into projects (name) values ('bench')`.execute(db);
    for (const entries of [1_000, 100_000]) {
      const env = `env-${entries}`;
      options.log(`history-at: writing ${entries.toLocaleString("en")} history entries`);
      await sql`insert into environments (project, name, revision) values ('bench', ${env}, ${entries})`.execute(db);
      // One entry a minute, as a busy environment's deploys, rollout steps and freezes would be.
      await sql`
        insert into environment_history (project, environment, revision, action, actor, at)
        select 'bench', ${env}, r, 'deploy', 'bench', timestamptz '2026-01-01T00:00:00Z' + r * interval '1 minute'
        from generate_series(1, ${entries}) as r`.execute(db);
      await sql`analyze environment_history`.execute(db);
      const times = Array.from({ length: options.lookups }, () => new Date(Date.parse("2026-01-01T00:00:00Z") + Math.floor(Math.random() * entries) * 60_000 + 30_000));
      const key = { project: "bench", environment: env };
      const byRevision = (at: Date) =>
        db
          .selectFrom("environment_history")
          .selectAll()
          .where("project", "=", key.project)
          .where("environment", "=", key.environment)
          .where("at", "<", sql<Date>`${at.toISOString()}::timestamptz + interval '1 millisecond'`)
          .orderBy("revision", "desc")
          .limit(1)
          .executeTakeFirst();
      // Interleaved, so both see the same machine.
      const indexed: number[] = [];
      const old: number[] = [];
      for (const at of times) {
        let t0 = performance.now();
        const a = await store.entryAt(key, at);
        indexed.push(performance.now() - t0);
        t0 = performance.now();
        const b = await byRevision(at);
        old.push(performance.now() - t0);
        if (a?.revision !== b?.revision) throw new Error(`history-at: the two lookups disagree at ${at.toISOString()}: ${a?.revision} vs ${b?.revision}`);
      }
      sizes.push({ entries, indexedMs: median(indexed), byRevisionMs: median(old) });
    }
    return { sizes, lookups: options.lookups };
  } finally {
    await handle.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
