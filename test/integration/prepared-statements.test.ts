/**
 * On Postgres the statements built once run as named, server-side prepared statements
 * (db/prepared-statements.ts). They must be prepared when on and not when off, and must keep
 * answering when a newer instance's migration adds a column to their tables during a rolling
 * upgrade: a prepared `select *` is refused then ("cached plan must not change result type"),
 * which is why they name their columns. A column whose type changes still makes a prepared read
 * stale: it is run again on a new connection.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_DATABASE_BUDGETS } from "../../src/db/budgets.js";
import { connectPostgres } from "../../src/db/connect.js";
import { KyselyVersionSetStore } from "../../src/version-sets/store.js";
import { POSTGRES_URL } from "../support/databases.js";
import { deployedEnv, envPath, makeSets } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const postgres = backends().find((b) => b.database === "postgres");

describe.skipIf(!POSTGRES_URL)("prepared statements (Postgres)", () => {
  let t: TestApp;
  let sets: string[];

  beforeAll(async () => {
    t = await startTestApp(postgres!);
    expect((await t.request("PUT", "/v1/projects/shop")).status).toBe(201);
    sets = await makeSets(t, "shop", 2, "prepared");
    await deployedEnv(t, "shop", "prod", sets[0]!);
    expect((await t.request("POST", envPath("shop", "prod", "/deploy"), { body: { version_set: sets[1] } })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The statement names prepared on the one connection of a pool of one, after a diff's existence check. */
  async function preparedAfterDiff(preparedStatements: boolean): Promise<Array<{ name: string; statement: string }>> {
    const handle = connectPostgres({ url: t.db.url!, budgets: DEFAULT_DATABASE_BUDGETS, max: 1, preparedStatements });
    try {
      expect(await new KyselyVersionSetStore(handle.db).existingIds("shop", [sets[0]!, sets[1]!])).toHaveLength(2);
      const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(handle.db);
      return rows;
    } finally {
      await handle.close();
    }
  }

  it("runs a statement built once as a named statement, and unnamed when turned off", async () => {
    const on = await preparedAfterDiff(true);
    expect(on.filter((r) => /^pinset_\d+$/.test(r.name) && r.statement.includes('from "version_sets"'))).toHaveLength(1);
    expect(await preparedAfterDiff(false)).toEqual([]);
  });

  it("keeps answering after a migration adds a column to the tables it reads", async () => {
    const reads = [
      "/v1/projects/shop/artifacts/config/prepared/versions/1",
      "/v1/projects/shop/artifacts/config/prepared/versions/latest",
      `/v1/projects/shop/version-sets/${sets[0]}`,
      `/v1/projects/shop/diff?from=${sets[0]}&to=${sets[1]}`,
      "/v1/projects/shop/environments/prod/history?limit=1",
      "/v1/projects/shop/environments/prod",
    ];
    const before: string[] = [];
    // Twice each: every read is prepared on the connections the pool hands out in turn.
    for (const path of [...reads, ...reads]) {
      const res = await t.request("GET", path);
      expect(res.status, path).toBe(200);
      before.push(await res.text());
    }

    const admin = new pg.Client({ connectionString: t.db.url });
    await admin.connect();
    try {
      // What the test guards against: a wildcard statement prepared before the change is refused after it.
      await admin.query({ name: "wildcard", text: "select * from artifacts limit 1" });
      await admin.query("alter table artifacts add column upgrade_note text");
      await expect(admin.query({ name: "wildcard", text: "select * from artifacts limit 1" })).rejects.toThrow(/cached plan must not change result type/);
      for (const table of ["version_sets", "environments", "environment_history"]) await admin.query(`alter table ${table} add column upgrade_note text`);
    } finally {
      await admin.end();
    }

    for (const [i, path] of [...reads, ...reads].entries()) {
      const res = await t.request("GET", path);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toBe(before[i]);
    }
    const created = await makeSets(t, "shop", 1, "after-upgrade");
    expect((await t.request("POST", envPath("shop", "prod", "/deploy"), { body: { version_set: created[0] } })).status).toBe(200);
  });

  it("answers a read whose prepared plan went stale (a column's type changed) by preparing it again on a new connection", async () => {
    const path = "/v1/projects/shop/artifacts/config/prepared/versions/1";
    const before = [];
    for (let i = 0; i < 3; i++) before.push(await (await t.request("GET", path)).text());
    const admin = new pg.Client({ connectionString: t.db.url });
    await admin.connect();
    try {
      await admin.query("alter table artifacts alter column content type varchar");
    } finally {
      await admin.end();
    }
    for (let i = 0; i < 3; i++) {
      const res = await t.request("GET", path);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(before[i]);
    }
  });
});
