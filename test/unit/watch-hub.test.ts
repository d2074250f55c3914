import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryListener } from "../../src/db/memory-listener.js";
import { ChangeFeed } from "../../src/environments/change-feed.js";
import { ENVIRONMENT_CHANNEL } from "../../src/environments/change.js";
import { wirePropagation } from "../../src/environments/propagation.js";
import { ResolveCache } from "../../src/environments/resolve-cache.js";
import type { EnvironmentView } from "../../src/environments/service.js";
import { WatchHub, type WatchSink, type WatchSource } from "../../src/environments/watch-hub.js";
import { createLogger } from "../../src/logger.js";

const logger = createLogger({ level: "silent" });
const KEY = { project: "p", environment: "prod" };

function view(revision: number, active = `vs_${String(revision).padStart(24, "0")}`): EnvironmentView {
  return { name: "prod", active, revision, updated_at: "2026-01-01T00:00:00.000Z", protected: false, frozen: false, fallback: null, rollout: null, created_at: "2026-01-01T00:00:00.000Z" };
}

/** An environment whose every revision is kept, so past states can be served. */
function fakeSource() {
  const source = {
    revision: 1,
    down: false,
    calls: { current: 0, statesAfter: 0 },
    onCurrent: () => {},
    async current() {
      source.calls.current += 1;
      source.onCurrent();
      if (source.down) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      return view(source.revision);
    },
    async statesAfter(_key: unknown, after: number, limit: number) {
      source.calls.statesAfter += 1;
      const states = [];
      for (let r = after + 1; r <= source.revision && states.length < limit; r++) states.push({ revision: r, view: view(r) });
      return states;
    },
  };
  return source satisfies WatchSource;
}

function fakeSink(buffered = 0) {
  const sink = { frames: [] as string[], buffered, ended: false, destroyed: false, write: (f: string) => void sink.frames.push(f), end: () => void (sink.ended = true), destroy: () => void (sink.destroyed = true) };
  return sink satisfies WatchSink;
}

const ids = (frames: string[]) => frames.filter((f) => f.startsWith("id:")).map((f) => /^id: (\d+)\nevent: (\w+)/.exec(f)!.slice(1).join(":"));
const settle = () => new Promise((r) => setTimeout(r, 0));

function hub(source: WatchSource, options: { live?: () => boolean; heartbeatMs?: number; recentSize?: number; fanOutBatch?: number } = {}) {
  return new WatchHub({
    source,
    feedLive: options.live ?? (() => true),
    logger,
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.recentSize ? { recentSize: options.recentSize } : {}),
    ...(options.fanOutBatch ? { fanOutBatch: options.fanOutBatch } : {}),
  });
}

describe("watch hub", () => {
  afterEach(() => vi.useRealTimers());

  it("reads once per change however many watch, and writes the same frame to each", async () => {
    const source = fakeSource();
    const h = hub(source);
    const sinks = [];
    for (let i = 0; i < 200; i++) {
      const sink = fakeSink();
      (await h.open(KEY)).attach(sink);
      sinks.push(sink);
    }
    // One read for the first watcher; the others start from memory.
    expect(source.calls.current).toBe(1);
    source.revision = 2;
    h.onChange({ ...KEY, revision: 2 });
    await settle();
    expect(source.calls.current).toBe(2);
    expect(new Set(sinks.map((s) => s.frames.join("|"))).size).toBe(1);
    expect(ids(sinks[0]!.frames)).toEqual(["1:state", "2:change"]);
    expect(h.watcherCount()).toBe(200);
  });

  it("publishes a change whose notification carries the next revision's state without reading it, the same frame a read gives", async () => {
    const source = fakeSource();
    const h = hub(source);
    const sink = fakeSink();
    (await h.open(KEY)).attach(sink);
    expect(source.calls.current).toBe(1);
    h.onChange({ ...KEY, revision: 2, state: view(2) });
    expect(source.calls.current).toBe(1);
    expect(ids(sink.frames)).toEqual(["1:state", "2:change"]);
    // The frame a read would have produced for the same revision.
    source.revision = 3;
    h.onChange({ ...KEY, revision: 3 });
    await settle();
    expect(source.calls.current).toBe(2);
    expect(sink.frames[1]).toBe(sink.frames[2]!.replaceAll("id: 3", "id: 2").replace(view(3).active!, view(2).active!).replace('"revision":3', '"revision":2'));
  });

  it("reads instead when a notification's state is not the next revision (a gap) or a read is in flight", async () => {
    const source = fakeSource();
    const h = hub(source);
    const sink = fakeSink();
    (await h.open(KEY)).attach(sink);
    source.revision = 3;
    h.onChange({ ...KEY, revision: 3, state: view(3) });
    await settle();
    await settle();
    // Revision 2 came from the history, 3 from the read: one event per revision, in order.
    expect(ids(sink.frames)).toEqual(["1:state", "2:change", "3:change"]);
    expect(source.calls.current).toBe(2);

    source.revision = 4;
    h.onChange({ ...KEY, revision: 4 });
    // A read for 4 is in flight: 5's state does not overtake it; the refresh reads again for 5.
    h.onChange({ ...KEY, revision: 5, state: view(5) });
    source.revision = 5;
    await new Promise((r) => setTimeout(r, 50));
    expect(ids(sink.frames)).toEqual(["1:state", "2:change", "3:change", "4:change", "5:change"]);
    expect(source.calls.current).toBe(4);
  });

  it("fills revisions the feed skipped from the history, in order, once", async () => {
    const source = fakeSource();
    const h = hub(source);
    const sink = fakeSink();
    (await h.open(KEY)).attach(sink);
    source.revision = 4;
    h.onChange({ ...KEY, revision: 3 });
    h.onChange({ ...KEY, revision: 4 });
    await settle();
    await settle();
    expect(ids(sink.frames)).toEqual(["1:state", "2:change", "3:change", "4:change"]);
  });

  it("replays missed revisions from recent frames without a query, and from the history beyond them", async () => {
    const source = fakeSource();
    const h = hub(source, { recentSize: 2 });
    (await h.open(KEY)).attach(fakeSink());
    for (const r of [2, 3, 4]) {
      source.revision = r;
      h.onChange({ ...KEY, revision: r });
      await settle();
    }
    const recent = fakeSink();
    (await h.open(KEY, { lastEventId: 2 })).attach(recent);
    expect(ids(recent.frames)).toEqual(["3:change", "4:change"]);
    expect(source.calls.statesAfter).toBe(0);
    const older = fakeSink();
    (await h.open(KEY, { lastEventId: 0 })).attach(older);
    expect(ids(older.frames)).toEqual(["1:change", "2:change", "3:change", "4:change"]);
    expect(source.calls.statesAfter).toBe(1);
  });

  it("reads the history once for a storm of reconnects that missed the same revisions", async () => {
    const source = fakeSource();
    source.revision = 4;
    const h = hub(source, { recentSize: 8 });
    const sinks = Array.from({ length: 50 }, () => fakeSink());
    const opened = await Promise.all(sinks.map(() => h.open(KEY, { lastEventId: 1 })));
    opened.forEach((o, i) => o.attach(sinks[i]!));
    const later = fakeSink();
    (await h.open(KEY, { lastEventId: 1 })).attach(later);
    expect(source.calls.statesAfter).toBe(1);
    for (const sink of [...sinks, later]) expect(ids(sink.frames)).toEqual(["2:change", "3:change", "4:change"]);
  });

  it("drops a watcher that does not keep up, and no other", async () => {
    const source = fakeSource();
    const h = hub(source);
    const slow = fakeSink(10 * 1024 * 1024);
    const fine = fakeSink();
    (await h.open(KEY)).attach(slow);
    (await h.open(KEY)).attach(fine);
    source.revision = 2;
    h.onChange({ ...KEY, revision: 2 });
    await settle();
    expect(slow.destroyed).toBe(true);
    expect(ids(slow.frames)).toEqual(["1:state"]);
    expect(ids(fine.frames)).toEqual(["1:state", "2:change"]);
    expect(h.watcherCount()).toBe(1);
    expect(h.droppedCount()).toBe(1);
  });

  it("starts new watchers from the last known state, marked stale, while the database is down", async () => {
    const source = fakeSource();
    let live = true;
    const h = hub(source, { live: () => live });
    const early = fakeSink();
    (await h.open(KEY)).attach(early);
    live = false;
    h.onDown();
    source.down = true;
    const opened = await h.open(KEY);
    expect(opened.stale).toBe(true);
    const late = fakeSink();
    opened.attach(late);
    expect(late.frames[0]).toContain('"stale":true}');
    await expect(h.open({ project: "p", environment: "never-seen" })).rejects.toMatchObject({ code: "ECONNREFUSED" });

    // Back: the state again, fresh, to everyone watching; then changes as usual.
    source.down = false;
    live = true;
    h.onResync();
    await settle();
    expect(ids(late.frames)).toEqual(["1:state", "1:state"]);
    expect(late.frames[1]).not.toContain("stale");
    expect(ids(early.frames)).toEqual(["1:state", "1:state"]);
  });

  it("sends a heartbeat comment every interval while anyone watches, and stops when nobody does", async () => {
    vi.useFakeTimers();
    const h = hub(fakeSource(), { heartbeatMs: 1_000 });
    const sink = fakeSink();
    const detach = (await h.open(KEY)).attach(sink);
    vi.advanceTimersByTime(3_000);
    expect(sink.frames.filter((f) => f === ": hb\n\n")).toHaveLength(3);
    detach();
    detach();
    expect(h.watcherCount()).toBe(0);
    vi.advanceTimersByTime(3_000);
    expect(sink.frames.filter((f) => f === ": hb\n\n")).toHaveLength(3);
  });

  it("fans a change out in batches that yield to the event loop, every watcher getting every revision once and in order", async () => {
    const source = fakeSource();
    const h = hub(source, { fanOutBatch: 4 });
    const sinks = Array.from({ length: 10 }, () => fakeSink());
    for (const sink of sinks) (await h.open(KEY)).attach(sink);
    h.onChange({ ...KEY, revision: 2, state: view(2) });
    // One batch now; the rest after the event loop had its turn.
    expect(sinks.filter((s) => s.frames.length === 2)).toHaveLength(4);
    // Published while the first fan-out is under way: it queues behind it, for the watchers of then.
    h.onChange({ ...KEY, revision: 3, state: view(3) });
    const joined = fakeSink();
    (await h.open(KEY)).attach(joined);
    h.onChange({ ...KEY, revision: 4, state: view(4) });
    await new Promise((r) => setImmediate(r));
    await settle();
    await settle();
    for (const sink of sinks) expect(ids(sink.frames)).toEqual(["1:state", "2:change", "3:change", "4:change"]);
    // Joined after revision 3 was published: starts from its state, then 4 only.
    expect(ids(joined.frames)).toEqual(["3:state", "4:change"]);
    expect(h.watcherCount()).toBe(11);
  });

  it("writes nothing more to a watcher that leaves during a fan-out", async () => {
    const source = fakeSource();
    const h = hub(source, { fanOutBatch: 2 });
    const sinks = Array.from({ length: 6 }, () => fakeSink());
    const detaches = [];
    for (const sink of sinks) detaches.push((await h.open(KEY)).attach(sink));
    h.onChange({ ...KEY, revision: 2, state: view(2) });
    detaches[5]!();
    await settle();
    await settle();
    expect(sinks.slice(0, 5).every((s) => ids(s.frames).join() === "1:state,2:change")).toBe(true);
    expect(ids(sinks[5]!.frames)).toEqual(["1:state"]);
  });

  it("ends every stream on closeAll (shutdown)", async () => {
    const h = hub(fakeSource());
    const sinks = [fakeSink(), fakeSink()];
    for (const s of sinks) (await h.open(KEY)).attach(s);
    h.closeAll();
    expect(sinks.every((s) => s.ended)).toBe(true);
    expect(h.watcherCount()).toBe(0);
  });
});

describe("propagation through the change feed", () => {
  it("invalidates the resolve cache before the watchers' read, and trusts the cache only while listening", async () => {
    const listener = new MemoryListener();
    const feed = new ChangeFeed(listener, { logger });
    const cache = new ResolveCache({ ttlMs: 1_000, now: () => 0 });
    const source = fakeSource();
    const h = hub(source, { live: () => feed.live });
    const tokens = { invalidations: 0, invalidate: () => void (tokens.invalidations += 1) };
    const rollouts = {
      seen: [] as string[],
      live: [] as boolean[],
      invalidate: (p: string, e: string) => void rollouts.seen.push(`${p}/${e}`),
      setFeedLive: (live: boolean) => void rollouts.live.push(live),
    };
    feed.start();
    wirePropagation({ feed, resolveCache: cache, hub: h, environments: { databaseAvailable: () => {} }, rollouts, tokens });
    expect(feed.live).toBe(true);

    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_old", revision: 1 });
    (await h.open(KEY)).attach(fakeSink());
    const seenByRead: unknown[] = [];
    source.onCurrent = () => seenByRead.push(cache.active("p", "prod"));
    source.revision = 2;
    listener.notify(ENVIRONMENT_CHANNEL, JSON.stringify({ project: "p", environment: "prod", revision: 2, active: "vs_new" }));
    await settle();
    expect(seenByRead).toEqual([undefined]);
    expect(rollouts.seen).toContain("p/prod");

    // A notification carrying the state: published without a read, still after the invalidation.
    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_new", revision: 2 });
    const seenByWrite: unknown[] = [];
    const sink = { ...fakeSink(), write: (f: string) => void (f.startsWith("id: 3") && seenByWrite.push(cache.active("p", "prod"))) };
    (await h.open(KEY)).attach(sink);
    const reads = source.calls.current;
    listener.notify(ENVIRONMENT_CHANNEL, JSON.stringify({ project: "p", environment: "prod", revision: 3, active: "vs_3", state: view(3, "vs_3") }));
    expect(seenByWrite).toEqual([undefined]);
    expect(source.calls.current).toBe(reads);
    // A state that does not describe the notified revision of this environment is ignored (read instead).
    source.revision = 4;
    listener.notify(ENVIRONMENT_CHANNEL, JSON.stringify({ project: "p", environment: "prod", revision: 4, state: { ...view(3), name: "other" } }));
    await settle();
    expect(source.calls.current).toBe(reads + 1);

    listener.notify("pinset_token_revoked", "tok_1");
    expect(tokens.invalidations).toBeGreaterThan(0);
    listener.notify(ENVIRONMENT_CHANNEL, "not json");

    cache.storeActive("p", "prod", cache.ticket(), { active: "vs_new", revision: 2 });
    listener.drop();
    expect(feed.live).toBe(false);
    expect(cache.active("p", "prod")).toBeUndefined();
    listener.restore();
    expect(feed.live).toBe(true);
    expect(rollouts.live).toEqual([true, false, true]);
    await feed.stop();
  });
});
