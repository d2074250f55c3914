import { describe, expect, it } from "vitest";
import { cachedBundle, ResolveCache } from "../../src/environments/resolve-cache.js";

function clockedCache(ttlMs = 1000) {
  const clock = { now: 0 };
  return { clock, cache: new ResolveCache({ ttlMs, now: () => clock.now }) };
}

describe("resolve cache", () => {
  it("without a live change feed, serves a stored mapping until the TTL passes", () => {
    const { clock, cache } = clockedCache();
    expect(cache.active("p", "prod")).toBeUndefined();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    clock.now = 999;
    expect(cache.active("p", "prod")).toEqual({ active: "vs_a", revision: 1 });
    clock.now = 1000;
    expect(cache.active("p", "prod")).toBeUndefined();
  });

  it("with a live change feed, trusts a mapping until it is invalidated, whatever the time", () => {
    const { clock, cache } = clockedCache();
    cache.setFeedLive(true);
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    clock.now = 3_600_000;
    expect(cache.active("p", "prod")).toEqual({ active: "vs_a", revision: 1 });
    cache.invalidate("p", "prod");
    expect(cache.active("p", "prod")).toBeUndefined();
  });

  it("falls back to the TTL when the feed goes down, and drops everything read before it comes back", () => {
    const { clock, cache } = clockedCache();
    cache.setFeedLive(true);
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    cache.setFeedLive(false);
    // Read just now, but trusted only because the feed would have announced a change.
    expect(cache.active("p", "prod")).toBeUndefined();
    clock.now = 5000;
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_b", revision: 2 });
    const inFlight = cache.ticket();
    expect(cache.active("p", "prod")).toEqual({ active: "vs_b", revision: 2 });
    // Reconnected: notifications sent while down are lost, so nothing read before is trusted.
    cache.setFeedLive(true);
    expect(cache.active("p", "prod")).toBeUndefined();
    cache.storeActive("p", "prod", inFlight, { active: "vs_b", revision: 2 });
    expect(cache.active("p", "prod")).toBeUndefined();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_c", revision: 3 });
    expect(cache.active("p", "prod")).toEqual({ active: "vs_c", revision: 3 });
  });

  it("reads the active state once for concurrent misses, but never joins a read that began before an invalidation", async () => {
    const { cache } = clockedCache();
    cache.setFeedLive(true);
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    cache.invalidate("p", "prod");
    const reads: Array<(state: { active: string; revision: number }) => void> = [];
    const read = () => new Promise<{ active: string; revision: number }>((resolve) => reads.push(resolve));
    const burst = [cache.readActive("p", "prod", read), cache.readActive("p", "prod", read), cache.readActive("p", "prod", read)];
    expect(reads).toHaveLength(1);
    // A change announced while that read is in flight: later misses read again.
    cache.invalidate("p", "prod");
    const after = cache.readActive("p", "prod", read);
    expect(reads).toHaveLength(2);
    reads[0]!({ active: "vs_b", revision: 2 });
    expect(await Promise.all(burst)).toEqual(Array(3).fill({ active: "vs_b", revision: 2 }));
    expect(cache.active("p", "prod")).toBeUndefined();
    reads[1]!({ active: "vs_c", revision: 3 });
    expect(await after).toEqual({ active: "vs_c", revision: 3 });
    expect(cache.active("p", "prod")).toEqual({ active: "vs_c", revision: 3 });
    // Done: the next miss reads again.
    cache.invalidate("p", "prod");
    void cache.readActive("p", "prod", read);
    expect(reads).toHaveLength(3);
  });

  it("keeps no entry for an environment it does not know while reading it", async () => {
    const { cache } = clockedCache();
    expect(await Promise.all([cache.readActive("p", "nope", async () => undefined), cache.readActive("p", "nope", async () => undefined)])).toEqual([undefined, undefined]);
    expect(cache.lastKnown("p", "nope")).toBeUndefined();
    expect(cache.active("p", "nope")).toBeUndefined();
  });

  it("keys by project and environment", () => {
    const { cache } = clockedCache();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    expect(cache.active("p", "staging")).toBeUndefined();
    expect(cache.active("q", "prod")).toBeUndefined();
  });

  it("answers hot only when the held bundle is the trusted active set's", () => {
    const { cache } = clockedCache();
    cache.setFeedLive(true);
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    expect(cache.hot("p", "prod")).toBeUndefined();
    const bundle = cachedBundle("vs_a", '{"id":"vs_a"}');
    cache.storeBundle("p", "prod", bundle);
    expect(cache.hot("p", "prod")).toBe(bundle);
    expect(bundle).toMatchObject({ versionSet: "vs_a", etag: '"vs_a"', stale: false });
    expect(bundle.body.toString()).toBe('{"id":"vs_a"}');
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_b", revision: 2 });
    expect(cache.hot("p", "prod")).toBeUndefined();
  });

  it("forgets the mapping on invalidate but keeps the last bundle for outages", () => {
    const { cache } = clockedCache();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    cache.storeBundle("p", "prod", cachedBundle("vs_a", '{"id":"vs_a"}'));
    expect(cache.bundle("p", "prod", "vs_a")?.body.toString()).toBe('{"id":"vs_a"}');
    expect(cache.bundle("p", "prod", "vs_b")).toBeUndefined();
    cache.invalidate("p", "prod");
    cache.invalidateAll();
    expect(cache.active("p", "prod")).toBeUndefined();
    expect(cache.hot("p", "prod")).toBeUndefined();
    expect(cache.lastKnown("p", "prod")).toMatchObject({ versionSet: "vs_a", etag: '"vs_a"' });
  });

  it("drops a fill that read the database before an invalidation", () => {
    const { cache } = clockedCache();
    const stale = cache.ticket();
    cache.invalidate("p", "prod");
    cache.storeActive("p", "prod", stale, { active: "vs_old", revision: 1 });
    expect(cache.active("p", "prod")).toBeUndefined();
    const fresh = cache.ticket();
    cache.storeActive("p", "prod", fresh, { active: "vs_new", revision: 2 });
    expect(cache.active("p", "prod")).toEqual({ active: "vs_new", revision: 2 });
  });

  it("keeps no bundle for an environment it never resolved", () => {
    const { cache } = clockedCache();
    cache.storeBundle("p", "ghost", cachedBundle("vs_a", "{}"));
    expect(cache.lastKnown("p", "ghost")).toBeUndefined();
  });
});
