import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_URL } from "../support/databases.js";
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from "../support/private-postgres.js";
import { makeSets } from "../support/rollouts.js";
import { SseClient } from "../support/sse-client.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const env = (name: string, suffix = "") => `/v1/projects/ops/environments/${name}${suffix}`;

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * API.md "When the database is down", against a Postgres cluster this test stops and starts
 * (stopped with `-m immediate`, as in a crash). Needs root and the Postgres binaries; runs with
 * the real-Postgres suite (PINSET_TEST_DATABASE_URL set).
 */
describe.skipIf(!POSTGRES_URL || !privatePostgresAvailable())("database outage (a private Postgres cluster)", () => {
  let cluster: PrivatePostgres;
  let t: TestApp;
  const streams: SseClient[] = [];
  const crashes: unknown[] = [];
  const recordCrash = (err: unknown) => crashes.push(err);

  beforeAll(async () => {
    process.on("uncaughtException", recordCrash);
    process.on("unhandledRejection", recordCrash);
    cluster = await createPrivatePostgres();
    t = await startTestApp(
      { name: "private-postgres+fs", database: "postgres", blobs: "fs" },
      { databaseUrl: cluster.url, changeFeed: { initialBackoffMs: 100, maxBackoffMs: 400 }, watch: { heartbeatMs: 200 } },
    );
  }, 60_000);
  afterAll(async () => {
    for (const s of streams) s.close();
    await t?.close().catch(() => {});
    await cluster?.destroy();
    process.off("uncaughtException", recordCrash);
    process.off("unhandledRejection", recordCrash);
  });

  it("serves the last bundle and state marked stale, refuses writes with 503, is not ready, stays up, and recovers by itself", async () => {
    expect((await t.request("PUT", "/v1/projects/ops")).status).toBe(201);
    const [first, second] = await makeSets(t, "ops", 2, "outage");
    for (const name of ["prod", "unserved"]) expect((await t.request("PUT", env(name))).status).toBe(201);
    expect((await t.request("POST", env("prod", "/deploy"), { body: { version_set: first } })).status).toBe(200);
    expect((await t.request("POST", env("unserved", "/deploy"), { body: { version_set: first } })).status).toBe(200);
    const created = await t.request("POST", "/v1/tokens", { body: { name: "runtime", scopes: ["read"], projects: ["ops"] } });
    const runtime = ((await created.json()) as { token: string }).token;

    const before = await t.request("GET", env("prod", "/resolve"), { token: runtime });
    expect(before.status).toBe(200);
    expect(before.headers.get("x-pinset-stale")).toBeNull();
    const bundle = await before.text();
    const existing = await SseClient.connect(`${t.url}${env("prod", "/watch")}`);
    streams.push(existing);
    expect(await existing.next()).toMatchObject({ event: "state", id: "1" });

    await cluster.stop();
    await until(async () => t.feed!.live, (live) => !live, 5_000, "the feed to notice the outage");

    const stale = await t.request("GET", env("prod", "/resolve"), { token: runtime });
    expect(stale.status).toBe(200);
    expect(stale.headers.get("x-pinset-stale")).toBe("true");
    expect(stale.headers.get("x-pinset-version-set")).toBe(first);
    expect(stale.headers.get("etag")).toBe(`"${first}"`);
    expect(await stale.text()).toBe(bundle);
    const revalidated = await t.request("GET", env("prod", "/resolve"), { token: runtime, headers: { "if-none-match": `"${first}"` } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get("x-pinset-stale")).toBe("true");

    // Never served by this instance: nothing to fall back on.
    const unserved = await t.request("GET", env("unserved", "/resolve"));
    expect(unserved.status).toBe(503);
    expect(await unserved.json()).toMatchObject({ code: "unavailable", status: 503 });

    const write = await t.request("POST", env("prod", "/deploy"), { body: { version_set: second } });
    expect(write.status).toBe(503);
    expect(write.headers.get("content-type")).toContain("application/problem+json");
    expect(await write.json()).toMatchObject({ code: "unavailable", status: 503 });
    const publish = await t.request("POST", "/v1/projects/ops/artifacts/config/during", { body: { content: { values: { x: 1 } } } });
    expect(publish.status).toBe(503);

    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "unavailable", failed: ["database"] });
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

    const late = await SseClient.connect(`${t.url}${env("prod", "/watch")}`);
    streams.push(late);
    expect(late.status).toBe(200);
    expect(late.headers["x-pinset-stale"]).toBe("true");
    const lateState = await late.next();
    expect(lateState).toMatchObject({ event: "state", id: "1" });
    expect(JSON.parse(lateState.data)).toMatchObject({ active: first, revision: 1, stale: true });
    // The stream opened before the outage stays open (heartbeats keep coming).
    expect(await existing.nextComment(2_000)).toBe("hb");
    expect(existing.closed).toBe(false);

    await cluster.start();
    await t.feed!.whenLive(10_000);
    const fresh = await until(
      () => t.request("GET", env("prod", "/resolve"), { token: runtime }),
      (res) => res.headers.get("x-pinset-stale") === null,
      5_000,
      "resolve to stop answering stale",
    );
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toBe(bundle);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    // The late watcher hears the state again, no longer stale.
    const refreshed = await late.next();
    expect(refreshed).toMatchObject({ event: "state", id: "1" });
    expect(JSON.parse(refreshed.data)).not.toHaveProperty("stale");

    const deployed = await t.request("POST", env("prod", "/deploy"), { body: { version_set: second } });
    expect(deployed.status).toBe(200);
    expect(await deployed.json()).toMatchObject({ active: second, revision: 2 });
    // The fresh state went to every watcher of the environment (one frame for all), then the change.
    expect(await existing.next()).toMatchObject({ event: "state", id: "1" });
    for (const stream of [existing, late]) expect(await stream.next()).toMatchObject({ event: "change", id: "2" });
    const resolved = await t.request("GET", env("prod", "/resolve"));
    expect(resolved.headers.get("x-pinset-version-set")).toBe(second);

    // Nothing accepted before the outage is lost; nothing refused during it was half-written.
    const history = (await (await t.request("GET", env("prod", "/history"))).json()) as { items: Array<{ revision: number; version_set: string }> };
    expect(history.items.map((h) => [h.revision, h.version_set])).toEqual([
      [2, second],
      [1, first],
    ]);
    expect((await t.request("GET", "/v1/projects/ops/artifacts/config/during")).status).toBe(404);
    expect(crashes).toEqual([]);
  }, 60_000);

  /** Issue 11, finding 4: processes stopped (SIGSTOP), so the database hangs instead of refusing. */
  it("answers cached resolves stale within 1 s, writes and /readyz with a fast 503, while the database is stopped; recovers after SIGCONT", async () => {
    const created = await t.request("POST", "/v1/tokens", { body: { name: "runtime-2", scopes: ["read"], projects: ["ops"] } });
    const runtime = ((await created.json()) as { token: string }).token;
    const fresh = await t.request("GET", env("prod", "/resolve"), { token: runtime });
    expect(fresh.status).toBe(200);
    const active = fresh.headers.get("x-pinset-version-set");
    const bundle = await fresh.text();
    const history = async () => ((await (await t.request("GET", env("prod", "/history"))).json()) as { items: unknown[] }).items.length;
    const revisions = await history();
    const [other] = await makeSets(t, "ops", 1, "sigstop");

    await cluster.pause();
    try {
      // Past the token cache's second: every resolve now asks the database about the token.
      await new Promise((r) => setTimeout(r, 1_100));
      const times: number[] = [];
      await until(
        async () => {
          const started = performance.now();
          const res = await fetch(`${t.url}${env("prod", "/resolve")}`, { headers: { authorization: `Bearer ${runtime}` }, signal: AbortSignal.timeout(3_000) });
          times.push(performance.now() - started);
          expect(res.status).toBe(200);
          expect(res.headers.get("x-pinset-version-set")).toBe(active);
          expect(await res.text()).toBe(bundle);
          return res.headers.get("x-pinset-stale");
        },
        (stale) => stale === "true",
        8_000,
        "resolve to answer stale",
      );
      expect(Math.max(...times)).toBeLessThan(1_000);

      const started = performance.now();
      const write = await fetch(`${t.url}${env("prod", "/deploy")}`, {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token-0123456789abcdef", "content-type": "application/json" },
        body: JSON.stringify({ version_set: other }),
        signal: AbortSignal.timeout(8_000),
      });
      expect(write.status).toBe(503);
      expect(write.headers.get("retry-after")).toBe("1");
      expect(await write.json()).toMatchObject({ code: "database_timeout" });
      expect(performance.now() - started).toBeLessThan(6_000);

      const probed = performance.now();
      const ready = await fetch(`${t.url}/readyz`, { signal: AbortSignal.timeout(3_000) });
      expect(ready.status).toBe(503);
      expect(performance.now() - probed).toBeLessThan(1_000);
      expect(await ready.json()).toEqual({ status: "unavailable", failed: ["database"] });
    } finally {
      await cluster.resume();
    }

    await until(
      () => t.request("GET", env("prod", "/resolve"), { token: runtime }),
      (res) => res.status === 200 && res.headers.get("x-pinset-stale") === null,
      15_000,
      "resolve to answer fresh",
    );
    expect(await history()).toBe(revisions);
    const deployed = await until(
      () => t.request("POST", env("prod", "/deploy"), { body: { version_set: other } }),
      (res) => res.status !== 503,
      10_000,
      "a deploy to be accepted",
    );
    expect(deployed.status).toBe(200);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    expect(crashes).toEqual([]);
  }, 60_000);
});
