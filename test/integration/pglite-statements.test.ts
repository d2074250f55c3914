/**
 * db/pglite-statements.ts runs a statement in one exchange with PGlite's backend instead of
 * `pglite.query`'s six. It must answer what `query` answers: the same rows, values parsed and
 * parameters serialised by type, the same counts, the same errors; plus `begin` in the same
 * exchange without ever running the statement outside the transaction.
 */
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgliteStatements } from "../../src/db/pglite-statements.js";

describe("PgliteStatements (one exchange per statement)", () => {
  let pglite: PGlite;
  let statements: PgliteStatements;

  beforeAll(async () => {
    pglite = new PGlite();
    await pglite.waitReady;
    statements = new PgliteStatements(pglite);
    await pglite.exec(`
      create table things (
        id bigint generated always as identity primary key,
        name text not null unique,
        doc jsonb,
        tags text[],
        blob bytea,
        at timestamptz,
        n int8,
        ok boolean
      )`);
  }, 120_000);
  afterAll(async () => pglite?.close());

  const row = {
    name: "a",
    doc: { values: { list: [1, "two", null], nested: { deep: true } } },
    tags: ["x", "y z", 'q"uote'],
    blob: new Uint8Array([0, 1, 254, 255]),
    at: new Date("2026-01-02T03:04:05.678Z"),
    n: 9_007_199_254_740_000,
    ok: true,
  };
  const insert = `insert into things (name, doc, tags, blob, at, n, ok) values ($1, $2, $3, $4, $5, $6, $7) returning *`;
  const values = (r: typeof row) => [r.name, r.doc, r.tags, r.blob, r.at, r.n, r.ok];

  it("serialises parameters by their inferred type and parses rows as query() does", async () => {
    const ours = await statements.run(insert, values(row));
    const theirs = await pglite.query(insert, values({ ...row, name: "b" }));
    expect(ours.affectedRows).toBe(1);
    expect(ours.rows).toHaveLength(1);
    const { id: ourId, ...ourRow } = ours.rows[0]!;
    const { id: theirId, ...theirRow } = theirs.rows[0] as Record<string, unknown>;
    expect(ourId).toBe(Number(theirId) - 1);
    expect(ourRow).toEqual({ ...theirRow, name: "a" });
    expect(ourRow).toEqual({ ...row });
  });

  it("passes null and undefined as NULL and reads NULL back as null", async () => {
    const { rows } = await statements.run(`insert into things (name, doc, tags, at) values ($1, $2, $3, $4) returning doc, tags, at, blob`, ["nulls", null, undefined, null]);
    expect(rows).toEqual([{ doc: null, tags: null, at: null, blob: null }]);
  });

  it("counts affected rows as query() does, and 0 for a select or a statement without a count", async () => {
    expect((await statements.run(`update things set ok = $1 where name in ($2, $3)`, [false, "a", "b"])).affectedRows).toBe(2);
    expect((await statements.run(`select name from things where ok = $1 order by name`, [false])).rows).toEqual([{ name: "a" }, { name: "b" }]);
    expect((await statements.run(`select name from things where ok = $1`, [false])).affectedRows).toBe(0);
    expect(await statements.run(`delete from things where name = $1`, ["nobody"])).toEqual({ rows: [], affectedRows: 0 });
    expect(await statements.run(`set local lock_timeout = 100`, [])).toEqual({ rows: [], affectedRows: 0 });
  });

  it("a refused statement raises Postgres' error with its code, and the session carries on", async () => {
    const err = await statements.run(`insert into things (name) values ($1)`, ["a"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "23505", constraint: "things_name_key", table: "things" });
    const syntax = await statements.run(`selec 1`, []).catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: "42601" });
    const badParam = await statements.run(`select * from things where id = $1`, ["not a number"]).catch((e: unknown) => e);
    expect(badParam).toMatchObject({ code: "22P02" });
    expect((await statements.run(`select 1 as one`, [])).rows).toEqual([{ one: 1 }]);
  });

  it("runs `begin` and the statement in one exchange, inside the transaction", async () => {
    const inserted = await statements.run(`insert into things (name) values ($1) returning name`, ["in-tx"], "begin");
    expect(inserted.rows).toEqual([{ name: "in-tx" }]);
    expect(pglite.isInTransaction()).toBe(true);
    await statements.run("rollback", []);
    expect((await statements.run(`select count(*)::int as n from things where name = $1`, ["in-tx"])).rows).toEqual([{ n: 0 }]);
  });

  it("a failing statement after `begin` leaves the transaction aborted, as two calls would", async () => {
    const err = await statements.run(`insert into things (name) values ($1)`, ["a"], "begin").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "23505" });
    expect(pglite.isInTransaction()).toBe(true);
    await expect(statements.run(`select 1`, [])).rejects.toMatchObject({ code: "25P02" });
    await statements.run("rollback", []);
    expect(pglite.isInTransaction()).toBe(false);
  });

  it("a failing `begin` keeps the statement from running at all", async () => {
    const err = await statements.run(`insert into things (name) values ($1)`, ["never"], "start transaction isolation level nonsense").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "42601" });
    expect(pglite.isInTransaction()).toBe(false);
    expect((await statements.run(`select count(*)::int as n from things where name = $1`, ["never"])).rows).toEqual([{ n: 0 }]);
  });

  it("after DDL changes a column's type, the same SQL text is serialised by the new type", async () => {
    await pglite.exec(`create table shifting (v text[])`);
    const text = `insert into shifting (v) values ($1) returning v`;
    // text[] takes an array literal ({a,b}), jsonb JSON (["a","b"]): a stale type would be refused (22P02).
    expect((await statements.run(text, [["a", "b"]])).rows).toEqual([{ v: ["a", "b"] }]);
    await statements.run(`alter table shifting alter column v type jsonb using to_jsonb(v)`, []);
    expect((await statements.run(text, [["a", "b"]])).rows).toEqual([{ v: ["a", "b"] }]);
    expect((await statements.run(`select jsonb_typeof(v) as t from shifting`, [])).rows).toEqual([{ t: "array" }, { t: "array" }]);
  });

  it("after search_path changes what a name refers to, the same SQL text is serialised by the new table's type", async () => {
    await pglite.exec(`create schema other; create table public.named (v text[]); create table other.named (v jsonb)`);
    const text = `insert into named (v) values ($1) returning v`;
    expect((await statements.run(text, [["a"]])).rows).toEqual([{ v: ["a"] }]);
    await statements.run(`set search_path = other, public`, []);
    try {
      expect((await statements.run(text, [["a"]])).rows).toEqual([{ v: ["a"] }]);
      expect((await statements.run(`select jsonb_typeof(v) as t from named`, [])).rows).toEqual([{ t: "array" }]);
    } finally {
      await statements.run(`reset search_path`, []);
    }
  });

  it("hands NOTIFY to PGlite's listeners", async () => {
    const heard: string[] = [];
    const off = await pglite.listen("pinset_test", (payload) => heard.push(payload));
    await statements.run(`select pg_notify($1, $2)`, ["pinset_test", "hello"]);
    await expect.poll(() => heard).toEqual(["hello"]);
    await off();
  });
});
