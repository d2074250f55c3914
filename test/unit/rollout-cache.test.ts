import { describe, expect, it } from "vitest";
import { RolloutCache, type CachedRollout } from "../../src/rollouts/rollout-cache.js";

const live = (id: string): CachedRollout => ({ id, stable: "vs_a", candidate: "vs_b", percent: 5, allow: new Set() });

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("RolloutCache", () => {
  it("serves a filled entry without loading again until the TTL passes", async () => {
    let now = 0;
    const cache = new RolloutCache({ ttlMs: 1000, now: () => now });
    let loads = 0;
    const load = async () => (loads++, live("ro_1"));
    expect(await cache.get("p", "e", load)).toEqual(live("ro_1"));
    now = 999;
    for (let i = 0; i < 100; i++) expect(cache.get("p", "e", load)).toEqual(live("ro_1"));
    expect(loads).toBe(1);
    now = 1000;
    await cache.get("p", "e", load);
    expect(loads).toBe(2);
  });

  it("caches the absence of a rollout too", async () => {
    const cache = new RolloutCache();
    let loads = 0;
    await cache.get("p", "e", async () => (loads++, null));
    expect(cache.get("p", "e", async () => (loads++, null))).toBeNull();
    expect(loads).toBe(1);
  });

  it("shares one load among concurrent misses", async () => {
    const cache = new RolloutCache();
    const gate = deferred<CachedRollout | null>();
    let loads = 0;
    const load = () => (loads++, gate.promise);
    const pending = [cache.get("p", "e", load), cache.get("p", "e", load), cache.get("p", "e", load)];
    gate.resolve(live("ro_1"));
    expect(await Promise.all(pending)).toEqual([live("ro_1"), live("ro_1"), live("ro_1")]);
    expect(loads).toBe(1);
  });

  it("drops a fill that started before an invalidation, and lets later callers load afresh", async () => {
    const cache = new RolloutCache();
    const old = deferred<CachedRollout | null>();
    const first = cache.get("p", "e", () => old.promise);
    cache.invalidate("p", "e");
    let loads = 0;
    const fresh = cache.get("p", "e", async () => (loads++, null));
    expect(loads).toBe(1);
    expect(await fresh).toBeNull();
    old.resolve(live("ro_stale"));
    expect(await first).toEqual(live("ro_stale"));
    // The stale read did not overwrite what the fresh one stored.
    expect(cache.peek("p", "e")).toBeNull();
  });

  it("keeps environments apart and forgets a failed load", async () => {
    const cache = new RolloutCache();
    await cache.get("p", "a", async () => live("ro_a"));
    await expect(cache.get("p", "b", async () => Promise.reject(new Error("db down")))).rejects.toThrow("db down");
    expect(cache.peek("p", "a")).toEqual(live("ro_a"));
    expect(cache.peek("p", "b")).toBeUndefined();
    expect(await cache.get("p", "b", async () => live("ro_b"))).toEqual(live("ro_b"));
  });

  it("remembers the last known rollout past its TTL (for outages), but not past an invalidation", async () => {
    let now = 0;
    const cache = new RolloutCache({ ttlMs: 1000, now: () => now });
    await cache.get("p", "e", async () => live("ro_1"));
    now = 60_000;
    expect(cache.peek("p", "e")).toBeUndefined();
    expect(cache.lastKnown("p", "e")).toEqual(live("ro_1"));
    cache.invalidate("p", "e");
    expect(cache.lastKnown("p", "e")).toBeUndefined();
    expect(cache.lastKnown("p", "other")).toBeUndefined();
  });
});
