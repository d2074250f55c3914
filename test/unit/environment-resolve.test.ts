import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type DatabaseConnection, type Driver, type QueryResult } from "kysely";
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/db/schema.js";
import { ResolveCache } from "../../src/environments/resolve-cache.js";
import { EnvironmentService, type VersionSetReader } from "../../src/environments/service.js";

const A = "vs_aaaaaaaaaaaaaaaaaaaaaaaa";

/** A database that answers every query with `rows` and counts what it was asked. */
function countingDb(rows: unknown[]) {
  const queries: string[] = [];
  const connection: DatabaseConnection = {
    async executeQuery<R>(query: { sql: string }): Promise<QueryResult<R>> {
      queries.push(query.sql);
      return { rows: rows as R[] };
    },
    async *streamQuery() {
      throw new Error("not used");
    },
  };
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => {},
    commitTransaction: async () => {},
    rollbackTransaction: async () => {},
    releaseConnection: async () => {},
    destroy: async () => {},
  };
  const db = new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return { db, queries };
}

function service(rows: unknown[]) {
  const { db, queries } = countingDb(rows);
  const bundles: string[] = [];
  const versionSets: VersionSetReader = {
    find: async (_p, id) => ({ id }),
    bundleBytes: async (_p, id) => {
      bundles.push(id);
      return { json: JSON.stringify({ id }), etag: `"${id}"` };
    },
  };
  const clock = { now: 0 };
  const cache = new ResolveCache({ ttlMs: 1000, now: () => clock.now });
  const projects = { require: async () => ({ name: "p", description: null, created_at: new Date(), seq: 1 }) };
  return { environments: new EnvironmentService({ db, projects, versionSets, resolveCache: cache }), queries, bundles, clock, cache };
}

describe("resolve hot path", () => {
  it("reads the database once, then answers from the cache until the TTL or an invalidation", async () => {
    const s = service([{ active: A, revision: 3 }]);
    const key = { project: "p", environment: "prod" };

    const first = await s.environments.resolve(key);
    expect(first.versionSet).toBe(A);
    expect(await first.json()).toBe(`{"id":"${A}"}`);
    expect(s.queries).toHaveLength(1);

    for (let i = 0; i < 5; i++) {
      const hit = await s.environments.resolve(key);
      expect(await hit.json()).toBe(`{"id":"${A}"}`);
    }
    expect(s.queries).toHaveLength(1);
    expect(s.bundles).toEqual([A]);

    s.clock.now = 1000;
    await s.environments.resolve(key);
    expect(s.queries).toHaveLength(2);

    s.cache.invalidate("p", "prod");
    await s.environments.resolve(key);
    expect(s.queries).toHaveLength(3);
    // The set did not change, so its bytes are still the ones this environment holds.
    await (await s.environments.resolve(key)).json();
    expect(s.bundles).toEqual([A]);
  });

  it("does not build the bundle when only the set id is needed (304)", async () => {
    const s = service([{ active: A, revision: 1 }]);
    const resolved = await s.environments.resolve({ project: "p", environment: "prod" });
    expect(resolved.versionSet).toBe(A);
    expect(s.bundles).toEqual([]);
  });

  it("answers 404 from a cached empty environment without a query", async () => {
    const s = service([{ active: null, revision: 0 }]);
    const key = { project: "p", environment: "empty" };
    await expect(s.environments.resolve(key)).rejects.toMatchObject({ status: 404 });
    await expect(s.environments.resolve(key)).rejects.toMatchObject({ status: 404 });
    expect(s.queries).toHaveLength(1);
  });
});
