import { describe, expect, it } from "vitest";
import { compiledOnce } from "../../src/db/compiled-once.js";
import { createTestDatabase, databaseBackends } from "../support/databases.js";

describe.each(databaseBackends())("compiledOnce (%s)", (backend) => {
  it("builds once, runs with each call's values and keeps the build's constants; inside a transaction too", async () => {
    const { handle, drop } = await createTestDatabase(backend);
    try {
      const db = handle.db;
      for (const name of ["alpha", "beta", "gamma"]) await db.insertInto("projects").values({ name, description: null }).execute();
      let builds = 0;
      const firstAfter = compiledOnce<{ after: string }, { name: string }>((q, arg) => {
        builds++;
        return q.selectFrom("projects").select("name").where("name", ">", arg("after")).orderBy("name").limit(1);
      });
      expect(await firstAfter(db, { after: "a" })).toEqual([{ name: "alpha" }]);
      expect(await firstAfter(db, { after: "alpha" })).toEqual([{ name: "beta" }]);
      expect(await db.transaction().execute((trx) => firstAfter(trx, { after: "beta" }))).toEqual([{ name: "gamma" }]);
      expect(await firstAfter(db, { after: "gamma" })).toEqual([]);
      expect(builds).toBe(1);
    } finally {
      await drop();
    }
  });

  it("refuses a build that uses an argument twice (it must be one parameter)", async () => {
    const { handle, drop } = await createTestDatabase(backend);
    try {
      const twice = compiledOnce<{ name: string }, { name: string }>((q, arg) => q.selectFrom("projects").select("name").where("name", "=", arg("name")).where("description", "=", arg("name")));
      await expect(twice(handle.db, { name: "x" })).rejects.toThrow(/each arg\(\) must be one parameter/);
    } finally {
      await drop();
    }
  });

  it("refuses a build that selects `*` (it runs prepared on Postgres: its columns are named)", async () => {
    const { handle, drop } = await createTestDatabase(backend);
    try {
      const everything = compiledOnce<{ name: string }, unknown>((q, arg) => q.selectFrom("projects").selectAll().where("name", "=", arg("name")));
      await expect(everything(handle.db, { name: "x" })).rejects.toThrow(/a prepared statement names its columns/);
      const returned = compiledOnce<{ name: string }, unknown>((q, arg) => q.insertInto("projects").values({ name: arg("name"), description: null }).returningAll());
      await expect(returned(handle.db, { name: "x" })).rejects.toThrow(/a prepared statement names its columns/);
      expect(await handle.db.selectFrom("projects").select("name").execute()).toEqual([]);
    } finally {
      await drop();
    }
  });
});
