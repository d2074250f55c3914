/**
 * Concurrent publishes to one artifact name queue in the database instead of failing: version
 * numbering for a name is serialised (a transaction-scoped advisory lock per name), so distinct
 * contents all get consecutive versions and identical ones share a single version.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

describe.each(backends())("concurrent publishes to one name on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/busy")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  const publish = (name: string, values: Record<string, unknown>) =>
    t.request("POST", `/v1/projects/busy/artifacts/config/${name}`, { body: { content: { values } } });

  it("gives 60 concurrent distinct publishes 60 consecutive versions, with no error", async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => publish("hot", { build: i })));
    const bodies = await Promise.all(results.map(async (r) => ({ status: r.status, body: await r.json() })));
    const failed = bodies.filter((b) => b.status !== 201);
    expect(failed.map((b) => `${b.status} ${JSON.stringify(b.body)}`)).toEqual([]);
    const versions = bodies.map((b) => b.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // Each version holds the content its publisher sent.
    for (const { body } of bodies.slice(0, 5)) {
      const stored = await (await t.request("GET", `/v1/projects/busy/artifacts/config/hot/versions/${body.version}`)).json();
      expect(stored.digest).toBe(body.digest);
    }
    const audit = await (await t.request("GET", "/v1/projects/busy/audit?action=artifact.publish&limit=500")).json();
    expect(audit.items.filter((e: { target: string }) => e.target.startsWith("config/hot@"))).toHaveLength(60);
  });

  it("still gives identical contents racing distinct ones a single version", async () => {
    const same = Array.from({ length: 10 }, () => publish("mixed", { same: true }));
    const distinct = Array.from({ length: 20 }, (_, i) => publish("mixed", { other: i }));
    const results = await Promise.all([...same, ...distinct]);
    const bodies = await Promise.all(results.map(async (r) => ({ status: r.status, body: await r.json() })));
    const identical = bodies.slice(0, 10);
    expect(identical.filter((b) => b.status === 201)).toHaveLength(1);
    expect(identical.filter((b) => b.status === 200)).toHaveLength(9);
    expect(new Set(identical.map((b) => b.body.version)).size).toBe(1);
    expect(bodies.slice(10).every((b) => b.status === 201)).toBe(true);
    const versions = bodies.filter((b) => b.status === 201).map((b) => b.body.version as number).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it.runIf(backend.database === "postgres")("answers 503 with retry-after only when the queue does not move for 4 s (a second inside the 5 s write budget), storing nothing", async () => {
    // Another session holds the name's lock (as a publish stuck mid-transaction would).
    const holder = new pg.Client({ connectionString: t.databaseUrl });
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock(7400001, hashtext('busy/config/stuck'))");
      const started = Date.now();
      const res = await publish("stuck", { a: 1 });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect((await res.json()).detail).toMatch(/queued behind one that has not finished in 4000 ms; nothing was stored/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3_500);
      expect((await t.request("GET", "/v1/projects/busy/artifacts/config/stuck")).status).toBe(404);
    } finally {
      await holder.end();
    }
    // Once the holder is gone the same publish goes through.
    expect((await publish("stuck", { a: 1 })).status).toBe(201);
  });
});
