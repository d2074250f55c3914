import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

interface HistoryEntry {
  revision: number;
  version_set: string | null;
}

/**
 * Compare-and-swap under concurrency. `second` is another app instance on the same database
 * (its own connection pool on Postgres), so a CAS that only held in one process's memory fails
 * here.
 */
describe.each(backends())("environment deploys under concurrency on $name", (backend) => {
  let t: TestApp;
  let second: TestApp;
  let sets: string[];

  const env = (name: string, suffix = "") => `/v1/projects/demo/environments/${name}${suffix}`;
  async function history(app: TestApp, name: string): Promise<HistoryEntry[]> {
    const res = await app.request("GET", env(name, "/history?limit=500"));
    return ((await res.json()) as { items: HistoryEntry[] }).items;
  }
  async function state(app: TestApp, name: string) {
    return (await (await app.request("GET", env(name))).json()) as { active: string; revision: number };
  }
  /** Creates `name` with sets[0] deployed at revision 1. */
  async function prepared(name: string) {
    expect((await t.request("PUT", env(name))).status).toBe(201);
    expect((await t.request("POST", env(name, "/deploy"), { body: { version_set: sets[0] } })).status).toBe(200);
  }

  beforeAll(async () => {
    t = await startTestApp(backend);
    second = await startTestApp(backend, { sharedDatabaseOf: t });
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
    sets = [];
    for (let i = 0; i < 21; i++) {
      await t.request("POST", "/v1/projects/demo/artifacts/config/app", { body: { content: content.config({ build: i }) } });
      const created = await t.request("POST", "/v1/projects/demo/version-sets", { body: { components: { app: `config/app@${i + 1}` } } });
      sets.push(((await created.json()) as { id: string }).id);
    }
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  async function raceOn(apps: TestApp[], name: string) {
    await prepared(name);
    const before = await history(t, name);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        apps[i % apps.length]!.request("POST", env(name, "/deploy"), { body: { version_set: sets[i + 1], expected_revision: 1 } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = results[statuses.indexOf(200)]!;
    const won = (await winner.json()) as { active: string; revision: number };
    expect(won.revision).toBe(2);
    for (const loser of results.filter((r) => r.status === 409)) expect(((await loser.json()) as { code: string }).code).toBe("conflict");

    const after = await history(t, name);
    expect(after).toHaveLength(before.length + 1);
    expect(after[0]).toMatchObject({ revision: 2, version_set: won.active });
    for (const app of apps) expect(await state(app, name)).toMatchObject({ active: won.active, revision: 2 });
  }

  it("lets exactly one of 20 concurrent deploys with the same expected_revision through on one instance", async () => {
    await raceOn([t], "race-one");
  });

  it("lets exactly one through when the 20 deploys are spread over two instances on one database", async () => {
    await raceOn([t, second], "race-two");
  });

  it("serializes 20 concurrent unconditional deploys across instances into 20 consecutive revisions", async () => {
    await prepared("queue");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => [t, second][i % 2]!.request("POST", env("queue", "/deploy"), { body: { version_set: sets[i + 1] } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const revisions = await Promise.all(results.map(async (r) => ((await r.json()) as { revision: number }).revision));
    expect(revisions.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const entries = await history(t, "queue");
    expect(entries.map((e) => e.revision)).toEqual(Array.from({ length: 21 }, (_, i) => 21 - i));
    expect(await state(second, "queue")).toMatchObject({ active: entries[0]!.version_set, revision: 21 });
  });

  it("shows another instance's deploy in resolve within the cache's one-second TTL", async () => {
    await prepared("propagate");
    expect((await second.request("GET", env("propagate", "/resolve"))).headers.get("x-pinset-version-set")).toBe(sets[0]);
    expect((await t.request("POST", env("propagate", "/deploy"), { body: { version_set: sets[1] } })).status).toBe(200);
    const started = Date.now();
    let seen: string | null = null;
    while (Date.now() - started < 3_000) {
      seen = (await second.request("GET", env("propagate", "/resolve"))).headers.get("x-pinset-version-set");
      if (seen === sets[1]) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toBe(sets[1]);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
