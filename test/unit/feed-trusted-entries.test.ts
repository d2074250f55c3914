import { describe, expect, it } from "vitest";
import { FeedTrustedEntries } from "../../src/cache/feed-trusted-entries.js";

interface Values {
  value: string;
  kept: string;
}

function clocked(ttlMs = 1_000) {
  const clock = { now: 0 };
  return { clock, entries: new FeedTrustedEntries<Values>({ ttlMs, now: () => clock.now }) };
}

/** The value a cache built on the entries would answer: present and trusted. */
function answer(entries: FeedTrustedEntries<Values>, project: string, env: string): string | undefined {
  const entry = entries.get(project, env);
  return entry?.value !== undefined && entries.trusted(entry) ? entry.value : undefined;
}

function fill(entries: FeedTrustedEntries<Values>, env: string, ticket: number, value: string): boolean {
  const entry = entries.fill("p", env, ticket);
  if (entry) entry.value = value;
  return entry !== undefined;
}

describe("feed-trusted entries", () => {
  it("drops a fill whose ticket predates the entry's invalidation, and stores one taken after", () => {
    const { entries } = clocked();
    expect(fill(entries, "prod", entries.ticket(), "v1")).toBe(true);
    const racing = entries.ticket();
    expect(entries.current(entries.get("p", "prod")!, racing)).toBe(true);
    entries.invalidate("p", "prod");
    expect(entries.current(entries.get("p", "prod")!, racing)).toBe(false);
    expect(fill(entries, "prod", racing, "v-stale")).toBe(false);
    expect(answer(entries, "p", "prod")).toBeUndefined();
    // The value stays (the cache decides what to forget), but is not trusted.
    expect(entries.get("p", "prod")?.value).toBe("v1");
    expect(fill(entries, "prod", entries.ticket(), "v2")).toBe(true);
    expect(answer(entries, "p", "prod")).toBe("v2");
  });

  it("an invalidation of one environment leaves the others' fills alone", () => {
    const { entries } = clocked();
    const ticket = entries.ticket();
    entries.invalidate("p", "staging");
    expect(fill(entries, "prod", ticket, "v1")).toBe(true);
    expect(answer(entries, "p", "prod")).toBe("v1");
    expect(answer(entries, "p", "staging")).toBeUndefined();
    expect(answer(entries, "q", "prod")).toBeUndefined();
  });

  it("a whole-cache invalidation distrusts every entry, keeps the values and drops every older fill", () => {
    const { entries } = clocked();
    fill(entries, "prod", entries.ticket(), "v1");
    fill(entries, "staging", entries.ticket(), "s1");
    entries.get("p", "prod")!.kept = "bundle";
    const racing = entries.ticket();
    entries.invalidateAll();
    expect(answer(entries, "p", "prod")).toBeUndefined();
    expect(answer(entries, "p", "staging")).toBeUndefined();
    expect(entries.get("p", "prod")).toMatchObject({ value: "v1", kept: "bundle" });
    expect(fill(entries, "prod", racing, "v-stale")).toBe(false);
    // Not even an entry for an environment first filled by a dropped read.
    expect(fill(entries, "dev", racing, "d-stale")).toBe(false);
    expect(entries.get("p", "dev")).toBeUndefined();
    expect(fill(entries, "prod", entries.ticket(), "v2")).toBe(true);
    expect(answer(entries, "p", "prod")).toBe("v2");
  });

  it("without a live feed, trusts a fill for the TTL from when it was stored", () => {
    const { clock, entries } = clocked(1_000);
    const ticket = entries.ticket();
    clock.now = 500;
    fill(entries, "prod", ticket, "v1");
    clock.now = 1_499;
    expect(answer(entries, "p", "prod")).toBe("v1");
    clock.now = 1_500;
    expect(answer(entries, "p", "prod")).toBeUndefined();
  });

  it("with a live feed, trusts a fill until it is invalidated, whatever the time", () => {
    const { clock, entries } = clocked(1_000);
    entries.setFeedLive(true);
    fill(entries, "prod", entries.ticket(), "v1");
    clock.now = 3_600_000;
    expect(answer(entries, "p", "prod")).toBe("v1");
    entries.invalidate("p", "prod");
    expect(answer(entries, "p", "prod")).toBeUndefined();
    // An entry created by an invalidation is not trusted either, live or not.
    entries.invalidate("p", "fresh");
    entries.get("p", "fresh")!.value = "unfilled";
    expect(answer(entries, "p", "fresh")).toBeUndefined();
  });

  it("any change of the feed's state distrusts everything read before and drops fills in flight", () => {
    const { clock, entries } = clocked(1_000);
    entries.setFeedLive(true);
    fill(entries, "prod", entries.ticket(), "v1");
    const acrossTheDrop = entries.ticket();
    entries.setFeedLive(false);
    // Read just now, but trusted only because the feed would have announced a change.
    expect(answer(entries, "p", "prod")).toBeUndefined();
    expect(fill(entries, "prod", acrossTheDrop, "v-stale")).toBe(false);
    expect(entries.get("p", "prod")?.value).toBe("v1");

    fill(entries, "prod", entries.ticket(), "v2");
    expect(answer(entries, "p", "prod")).toBe("v2");
    const acrossTheReconnect = entries.ticket();
    clock.now = 100;
    entries.setFeedLive(true);
    // Read within the TTL, but a notification sent while the feed was down is lost.
    expect(answer(entries, "p", "prod")).toBeUndefined();
    expect(fill(entries, "prod", acrossTheReconnect, "v-stale")).toBe(false);
    fill(entries, "prod", entries.ticket(), "v3");
    clock.now = 3_600_000;
    expect(answer(entries, "p", "prod")).toBe("v3");
  });
});
