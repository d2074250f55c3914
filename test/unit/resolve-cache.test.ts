import { describe, expect, it } from "vitest";
import { ResolveCache } from "../../src/environments/resolve-cache.js";

function clockedCache(ttlMs = 1000) {
  const clock = { now: 0 };
  return { clock, cache: new ResolveCache({ ttlMs, now: () => clock.now }) };
}

describe("resolve cache", () => {
  it("serves a stored mapping until the TTL passes", () => {
    const { clock, cache } = clockedCache();
    expect(cache.active("p", "prod")).toBeUndefined();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    clock.now = 999;
    expect(cache.active("p", "prod")).toEqual({ active: "vs_a", revision: 1 });
    clock.now = 1000;
    expect(cache.active("p", "prod")).toBeUndefined();
  });

  it("keys by project and environment", () => {
    const { cache } = clockedCache();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    expect(cache.active("p", "staging")).toBeUndefined();
    expect(cache.active("q", "prod")).toBeUndefined();
  });

  it("forgets the mapping on invalidate but keeps the last bundle for outages", () => {
    const { cache } = clockedCache();
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_a", revision: 1 });
    cache.storeBundle("p", "prod", "vs_a", '{"id":"vs_a"}');
    expect(cache.bundle("p", "prod", "vs_a")).toBe('{"id":"vs_a"}');
    expect(cache.bundle("p", "prod", "vs_b")).toBeUndefined();
    cache.invalidate("p", "prod");
    expect(cache.active("p", "prod")).toBeUndefined();
    expect(cache.lastKnown("p", "prod")).toEqual({ versionSet: "vs_a", json: '{"id":"vs_a"}' });
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
    cache.storeBundle("p", "ghost", "vs_a", "{}");
    expect(cache.lastKnown("p", "ghost")).toBeUndefined();
  });
});
