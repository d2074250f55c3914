import { describe, expect, it } from "vitest";
import { actor, fakeEnvironments } from "../support/environment-fakes.js";
import type { RolloutHooks } from "../../src/environments/service.js";

const A = "vs_aaaaaaaaaaaaaaaaaaaaaaaa";

/** The service on the memory fakes with p/prod serving A at `revision` (or p/<environment> serving nothing); `queries` counts store reads. */
async function service(env: { active: string | null; revision: number; environment?: string }, rollouts?: RolloutHooks) {
  const s = fakeEnvironments(rollouts ? { rollouts } : {});
  await s.projects.ensure(actor, "p", null);
  const key = { project: "p", environment: env.environment ?? "prod" };
  await s.tables.run(async (tx) => {
    await s.memory.insertIfAbsent(tx, key, false);
    if (env.active !== null) {
      const fields = { active: env.active, previous: null, action: "deploy", actor: "ci", actor_token_id: null, reason: null, trace_id: null };
      await s.memory.writeRevision(tx, key, { ...fields, revision: env.revision });
    }
  });
  s.sets.add(A);
  const queries = s.calls;
  return { ...s, queries };
}

describe("resolve hot path", () => {
  it("reads the database once, then answers from the cache until the TTL or an invalidation", async () => {
    const s = await service({ active: A, revision: 3 });
    const key = { project: "p", environment: "prod" };

    const first = await s.environments.resolve(key);
    expect(first.versionSet).toBe(A);
    expect(first.body?.toString()).toBe(`{"id":"${A}"}`);
    expect(s.queries).toHaveLength(1);

    for (let i = 0; i < 5; i++) {
      const hit = await s.environments.resolve(key);
      // The very same ready answer: no JSON work on a hit.
      expect(hit).toBe(first);
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
    expect((await s.environments.resolve(key)).body?.toString()).toBe(`{"id":"${A}"}`);
    expect(s.bundles).toEqual([A]);
  });

  it("does not build the bundle when only the set id is needed (304)", async () => {
    const s = await service({ active: A, revision: 1 });
    const resolved = await s.environments.resolve({ project: "p", environment: "prod" }, { notModified: (etag) => etag === `"${A}"` });
    expect(resolved).toMatchObject({ versionSet: A, etag: `"${A}"`, stale: false });
    expect(resolved.body).toBeUndefined();
    expect(s.bundles).toEqual([]);
  });

  it("answers 404 from a cached empty environment without a query", async () => {
    const s = await service({ active: null, revision: 0, environment: "empty" });
    const key = { project: "p", environment: "empty" };
    await expect(s.environments.resolve(key)).rejects.toMatchObject({ status: 404 });
    await expect(s.environments.resolve(key)).rejects.toMatchObject({ status: 404 });
    expect(s.queries).toHaveLength(1);
  });

  it("answers the last bundle, marked stale, while the database is unavailable; recovers after", async () => {
    const s = await service({ active: A, revision: 1 });
    const key = { project: "p", environment: "prod" };
    const fresh = await s.environments.resolve(key);
    expect(fresh.stale).toBe(false);

    s.database.down = true;
    s.clock.now = 5000;
    const stale = await s.environments.resolve(key);
    expect(stale).toMatchObject({ versionSet: A, etag: `"${A}"`, stale: true });
    expect(stale.body?.toString()).toBe(`{"id":"${A}"}`);
    // Within the pause after a failure the database is not asked again.
    const asked = s.queries.length;
    await s.environments.resolve(key);
    expect(s.queries).toHaveLength(asked);

    s.database.down = false;
    s.environments.databaseAvailable();
    expect((await s.environments.resolve(key)).stale).toBe(false);
  });

  it("lets the unavailability through when this instance never served the environment", async () => {
    const s = await service({ active: A, revision: 1 });
    s.database.down = true;
    await expect(s.environments.resolve({ project: "p", environment: "never" })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("keeps a subject on its side of a rollout while the database is unavailable, when the rollout is still known", async () => {
    const C = "vs_cccccccccccccccccccccccc";
    const rollouts: RolloutHooks = {
      rolloutOf: async () => null,
      // As the rollouts engine answers from its last known rollout during an outage.
      assign: async (_p, _e, subject) => (subject === "alice" ? { versionSet: C, assignment: "candidate" } : { versionSet: A, assignment: "stable" }),
    };
    const s = await service({ active: A, revision: 1 }, rollouts);
    const key = { project: "p", environment: "prod" };
    await s.environments.resolve(key);
    s.database.down = true;
    s.clock.now = 5000;
    expect(await s.environments.resolve(key, { subject: "alice" })).toMatchObject({ versionSet: C, assignment: "candidate", stale: true });
    expect(await s.environments.resolve(key, { subject: "bob" })).toMatchObject({ versionSet: A, assignment: "stable", stale: true });
  });
});
