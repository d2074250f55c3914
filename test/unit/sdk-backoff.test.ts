import { describe, expect, it } from "vitest";
import { createBackoff } from "../../src/client/backoff.js";

const series = (n: number, random: () => number, options: { initialDelayMs?: number; maxDelayMs?: number } = {}) => {
  const backoff = createBackoff({ ...options, random });
  return Array.from({ length: n }, () => backoff.next());
};

describe("resolver backoff", () => {
  it("doubles its ceiling per failure and caps at 30 s by default", () => {
    const highest = series(10, () => 0.999999);
    expect(highest).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    const lowest = series(10, () => 0);
    expect(lowest).toEqual([250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000]);
  });

  it("spreads waits over [ceiling/2, ceiling] so a fleet does not reconnect in lockstep", () => {
    const waits = new Set(series(1, Math.random));
    for (let i = 0; i < 200; i++) waits.add(series(4, Math.random)[3]!);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(250);
    const fourth = [...waits].slice(1);
    for (const w of fourth) expect(w >= 2000 && w <= 4000).toBe(true);
    expect(new Set(fourth).size).toBeGreaterThan(50);
  });

  it("starts over after reset and counts failures", () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.failures).toBe(3);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it("stays finite after a very long outage", () => {
    const backoff = createBackoff({ random: () => 0.5 });
    let last = 0;
    for (let i = 0; i < 10_000; i++) last = backoff.next();
    expect(last).toBe(22500);
  });

  it("refuses options that would make no sense", () => {
    expect(() => createBackoff({ initialDelayMs: 0 })).toThrow(RangeError);
    expect(() => createBackoff({ initialDelayMs: 5000, maxDelayMs: 100 })).toThrow(RangeError);
  });
});
