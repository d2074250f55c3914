import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TooManyWatchesError } from "../../src/core/errors.js";
import { FALLBACK_OPEN_FILES, openFilesLimit } from "../../src/environments/open-files.js";
import { registerWatchLimitMetrics, watchCapacity, WatchStreams } from "../../src/environments/watch-streams.js";

const owner = (tokenId: string, address = "10.0.0.1", expiresAt?: number) => ({ tokenId, address, ...(expiresAt !== undefined ? { expiresAt } : {}) });

function refusal(fn: () => unknown): TooManyWatchesError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TooManyWatchesError);
    return err as TooManyWatchesError;
  }
  throw new Error("expected a refusal");
}

describe("WatchStreams", () => {
  it("caps streams per token, per address and per instance, and counts each refusal by reason", () => {
    const streams = new WatchStreams({ perToken: 2, perAddress: 3, total: 4 });
    streams.admit(owner("a"), () => {});
    streams.admit(owner("a"), () => {});
    const byToken = refusal(() => streams.admit(owner("a", "10.0.0.9"), () => {}));
    expect(byToken).toMatchObject({ status: 429, code: "too_many_watches", headers: { "retry-after": "30" } });
    expect(byToken.message).toContain("PINSET_WATCH_MAX_PER_TOKEN");
    streams.admit(owner("b"), () => {});
    expect(refusal(() => streams.admit(owner("c"), () => {})).message).toContain("PINSET_WATCH_MAX_PER_ADDRESS");
    streams.admit(owner("c", "10.0.0.2"), () => {});
    expect(refusal(() => streams.admit(owner("d", "10.0.0.3"), () => {})).message).toContain("open-file limit");
    expect(streams.refusals).toEqual({ token: 1, address: 1, instance: 1 });
    expect(streams.open).toBe(4);
  });

  it("frees a slot when a stream is released (once, however often release is called)", () => {
    const streams = new WatchStreams({ perToken: 1, perAddress: 0, total: 10 });
    const slot = streams.admit(owner("a"), () => {});
    refusal(() => streams.admit(owner("a"), () => {}));
    slot.release();
    slot.release();
    expect(streams.open).toBe(0);
    streams.admit(owner("a"), () => {});
    expect(streams.open).toBe(1);
  });

  it("turns the per-token and per-address caps off with 0", () => {
    const streams = new WatchStreams({ perToken: 0, perAddress: 0, total: 1_000 });
    for (let i = 0; i < 1_000; i++) streams.admit(owner("a"), () => {});
    expect(streams.open).toBe(1_000);
  });

  it("closes every stream of a revoked token, and only those", () => {
    const streams = new WatchStreams({ perToken: 0, perAddress: 0, total: 10 });
    const closed: string[] = [];
    streams.admit(owner("a"), () => closed.push("a1"));
    streams.admit(owner("a"), () => closed.push("a2"));
    streams.admit(owner("b"), () => closed.push("b1"));
    expect(streams.closeToken("a")).toBe(2);
    expect(closed).toEqual(["a1", "a2"]);
    expect(streams.open).toBe(1);
    expect(streams.closeToken("a")).toBe(0);
  });

  it("closes a token's streams when it expires", async () => {
    const streams = new WatchStreams({ perToken: 0, perAddress: 0, total: 10 });
    let closedAt = 0;
    const expiresAt = Date.now() + 150;
    streams.admit(owner("a", "10.0.0.1", expiresAt), () => (closedAt = Date.now()));
    streams.admit(owner("b"), () => {
      throw new Error("b has no expiry");
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(closedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(closedAt - expiresAt).toBeLessThan(1000);
    expect(streams.open).toBe(1);
  });

  it("after a feed outage, closes the streams of the tokens the database calls unusable", async () => {
    const asked: string[][] = [];
    const streams = new WatchStreams({ perToken: 0, perAddress: 0, total: 10, unusable: async (ids) => (asked.push(ids), ids.filter((id) => id === "revoked")) });
    const closed: string[] = [];
    streams.admit(owner("revoked"), () => closed.push("revoked"));
    streams.admit(owner("fine"), () => closed.push("fine"));
    await streams.recheck();
    expect(asked).toEqual([["revoked", "fine"]]);
    expect(closed).toEqual(["revoked"]);
  });

  it("reports refusals by reason and the instance's cap in /metrics", async () => {
    const registry = new Registry();
    const streams = new WatchStreams({ perToken: 1, perAddress: 0, total: 7 });
    registerWatchLimitMetrics(registry, streams);
    streams.admit(owner("a"), () => {});
    refusal(() => streams.admit(owner("a"), () => {}));
    refusal(() => streams.admit(owner("a"), () => {}));
    const text = await registry.metrics();
    expect(text).toContain('pinset_watch_refusals_total{reason="token"} 2');
    expect(text).toContain('pinset_watch_refusals_total{reason="address"} 0');
    expect(text).toContain("pinset_watchers_limit 7");
    // Counters only grow: a second scrape reports the same totals.
    expect(await registry.metrics()).toContain('pinset_watch_refusals_total{reason="token"} 2');
  });
});

describe("watch capacity from the open-file limit", () => {
  it("keeps a quarter of the descriptors (at least 256, at most half) for everything else", () => {
    expect(watchCapacity(256)).toBe(128);
    expect(watchCapacity(512)).toBe(256);
    expect(watchCapacity(1024)).toBe(768);
    expect(watchCapacity(4096)).toBe(3072);
    expect(watchCapacity(65536)).toBe(49152);
    expect(watchCapacity(1)).toBe(1);
  });

  it("reads the soft limit from /proc/self/limits, with a fallback", () => {
    const limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            4096                 524288               files\n";
    expect(openFilesLimit(() => limits)).toBe(4096);
    expect(openFilesLimit(() => "Max open files unlimited unlimited files\n")).toBe(Number.MAX_SAFE_INTEGER);
    expect(openFilesLimit(() => "nothing useful")).toBe(FALLBACK_OPEN_FILES);
    expect(
      openFilesLimit(() => {
        throw new Error("ENOENT");
      }),
    ).toBe(FALLBACK_OPEN_FILES);
    if (process.platform === "linux") expect(openFilesLimit()).toBeGreaterThan(0);
  });
});
