import { describe, expect, it } from "vitest";
import { RolloutCache, type CachedRollout } from "../../src/rollouts/rollout-cache.js";

const rollout = (percent: number): CachedRollout => ({ id: "ro_1", stable: "vs_a", candidate: "vs_b", percent, allow: new Set() });

function clocked() {
  const clock = { now: 0 };
  return { clock, cache: new RolloutCache({ ttlMs: 1_000, now: () => clock.now }) };
}

describe("rollout cache with the change feed", () => {
  it("trusts an entry until invalidated while the feed is live, whatever the time", async () => {
    const { clock, cache } = clocked();
    cache.setFeedLive(true);
    await cache.get("p", "prod", async () => rollout(10));
    clock.now = 3_600_000;
    expect(cache.peek("p", "prod")).toEqual(rollout(10));
    cache.invalidate("p", "prod");
    expect(cache.peek("p", "prod")).toBeUndefined();
  });

  it("re-reads everything when the feed drops or comes back, but keeps the values for outages", async () => {
    const { cache } = clocked();
    cache.setFeedLive(true);
    await cache.get("p", "prod", async () => rollout(10));
    cache.setFeedLive(false);
    expect(cache.peek("p", "prod")).toBeUndefined();
    expect(cache.lastKnown("p", "prod")).toEqual(rollout(10));

    // A read that started before the feed came back must not be trusted after.
    let finish!: (r: CachedRollout) => void;
    const inFlight = cache.get("p", "prod", () => new Promise((resolve) => (finish = resolve)));
    cache.setFeedLive(true);
    finish(rollout(20));
    await inFlight;
    expect(cache.peek("p", "prod")).toBeUndefined();
    expect(await cache.get("p", "prod", async () => rollout(30))).toEqual(rollout(30));
    expect(cache.peek("p", "prod")).toEqual(rollout(30));
  });
});

describe("rollout cache single flight across a change of the feed's state", () => {
  it("does not let a miss after the change join a read that started before it", async () => {
    const { cache } = clocked();
    let finishOld!: (r: CachedRollout) => void;
    const old = cache.get("p", "prod", () => new Promise((resolve) => (finishOld = resolve)));
    cache.setFeedLive(true);
    let loads = 0;
    const fresh = cache.get("p", "prod", async () => (loads++, rollout(40)));
    expect(loads).toBe(1);
    expect(await fresh).toEqual(rollout(40));
    finishOld(rollout(20));
    expect(await old).toEqual(rollout(20));
    expect(cache.peek("p", "prod")).toEqual(rollout(40));
  });
});
