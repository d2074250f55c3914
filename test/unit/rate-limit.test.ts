import { describe, expect, it } from "vitest";
import { TokenBuckets } from "../../src/http/rate-limit.js";

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("TokenBuckets", () => {
  it("allows a burst, then refuses with the seconds until the next token", () => {
    const c = clock();
    const buckets = new TokenBuckets({ rps: 2, burst: 3 }, { now: c.now });
    expect([buckets.take("a"), buckets.take("a"), buckets.take("a")]).toEqual([0, 0, 0]);
    expect(buckets.take("a")).toBe(1);
    c.advance(499);
    expect(buckets.take("a")).toBe(1);
    c.advance(1);
    expect(buckets.take("a")).toBe(0);
    expect(buckets.take("a")).toBe(1);
  });

  it("refills at rps up to the burst, never beyond", () => {
    const c = clock();
    const buckets = new TokenBuckets({ rps: 10, burst: 5 }, { now: c.now });
    for (let i = 0; i < 5; i++) buckets.take("a");
    c.advance(60_000);
    const allowed = Array.from({ length: 10 }, () => buckets.take("a")).filter((r) => r === 0).length;
    expect(allowed).toBe(5);
  });

  it("rounds a slow refill up to whole seconds", () => {
    const c = clock();
    const buckets = new TokenBuckets({ rps: 0.1, burst: 1 }, { now: c.now });
    expect(buckets.take("a")).toBe(0);
    expect(buckets.take("a")).toBe(10);
  });

  it("keeps keys apart: one key's burst never drains another", () => {
    const c = clock();
    const buckets = new TokenBuckets({ rps: 1, burst: 2 }, { now: c.now });
    buckets.take("a");
    buckets.take("a");
    expect(buckets.take("a")).toBeGreaterThan(0);
    expect([buckets.take("b"), buckets.take("b")]).toEqual([0, 0]);
  });

  it("is disabled by rps 0", () => {
    const buckets = new TokenBuckets({ rps: 0, burst: 0 });
    expect(buckets.enabled).toBe(false);
    for (let i = 0; i < 10_000; i++) expect(buckets.take("a")).toBe(0);
    expect(buckets.size).toBe(0);
  });

  it("bounds memory: a flood of distinct keys never grows the map past maxKeys", () => {
    const c = clock();
    const buckets = new TokenBuckets({ rps: 1, burst: 10 }, { now: c.now, maxKeys: 100 });
    for (let i = 0; i < 1_000; i++) buckets.take(`k${i}`);
    expect(buckets.size).toBeLessThanOrEqual(100);
  });

  it("forgets refilled buckets first when it must make room", () => {
    const c = clock();
    const buckets = new TokenBuckets({ rps: 1, burst: 10 }, { now: c.now, maxKeys: 3 });
    for (let i = 0; i < 10; i++) buckets.take("busy");
    buckets.take("idle-1");
    buckets.take("idle-2");
    c.advance(5_000); // idle-1/2 are full again (9 + 5 ≥ 10); busy is at 5
    buckets.take("new");
    expect(buckets.size).toBe(2);
    // busy kept its debt: 5 tokens left, not a fresh 10.
    const allowed = Array.from({ length: 10 }, () => buckets.take("busy")).filter((r) => r === 0).length;
    expect(allowed).toBe(5);
  });
});
