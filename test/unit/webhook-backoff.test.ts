import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_SCHEDULE, exponentialBackoff, scheduleSpan } from "../../src/webhooks/backoff.js";

const MINUTE = 60_000;

describe("the default retry schedule", () => {
  it("makes at least 5 attempts spanning at least 10 minutes, whatever the jitter", () => {
    expect(DEFAULT_RETRY_SCHEDULE.maxAttempts).toBeGreaterThanOrEqual(5);
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        expect(scheduleSpan(DEFAULT_RETRY_SCHEDULE, () => r)).toBeGreaterThanOrEqual(10 * MINUTE);
      }),
    );
    // Even the first five attempts alone, at the least jitter, span more than 7 minutes, and
    // the whole schedule gives up within a day.
    const noJitter = () => 0;
    const firstFive = [1, 2, 3, 4].reduce((sum, n) => sum + DEFAULT_RETRY_SCHEDULE.delayAfter(n, noJitter)!, 0);
    expect(firstFive).toBe(7.5 * MINUTE);
    expect(scheduleSpan(DEFAULT_RETRY_SCHEDULE, () => 0.999999)).toBeLessThan(24 * 60 * MINUTE);
  });

  it("waits 30 s, 1, 2, 4, 8, 16, 32 min (+ up to 25 % jitter), then gives up", () => {
    const bare = [0.5, 1, 2, 4, 8, 16, 32].map((m) => m * MINUTE);
    bare.forEach((ms, i) => {
      expect(DEFAULT_RETRY_SCHEDULE.delayAfter(i + 1, () => 0)).toBe(ms);
      expect(DEFAULT_RETRY_SCHEDULE.delayAfter(i + 1, () => 0.999999)).toBeLessThanOrEqual(ms * 1.25);
    });
    expect(DEFAULT_RETRY_SCHEDULE.delayAfter(8, () => 0)).toBeUndefined();
  });

  it("never shortens a wait and grows exponentially for any random source", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 7, maxLength: 7 }), (rs) => {
        const delays = rs.map((r, i) => DEFAULT_RETRY_SCHEDULE.delayAfter(i + 1, () => r)!);
        delays.forEach((d, i) => {
          const bare = 30_000 * 2 ** i;
          expect(d).toBeGreaterThanOrEqual(bare);
          expect(d).toBeLessThanOrEqual(bare * 1.25);
        });
      }),
    );
  });
});

describe("exponentialBackoff", () => {
  it("caps single waits and stops after maxAttempts", () => {
    const s = exponentialBackoff({ baseMs: 100, factor: 3, maxDelayMs: 500, maxAttempts: 4 });
    expect([1, 2, 3, 4].map((n) => s.delayAfter(n))).toEqual([100, 300, 500, undefined]);
    expect(s.delayAfter(0)).toBeUndefined();
  });

  it("refuses nonsensical options", () => {
    expect(() => exponentialBackoff({ baseMs: -1, maxAttempts: 3 })).toThrow(RangeError);
    expect(() => exponentialBackoff({ baseMs: 10, maxAttempts: 0 })).toThrow(RangeError);
    expect(() => exponentialBackoff({ baseMs: 10, factor: 0.5, maxAttempts: 3 })).toThrow(RangeError);
  });
});
