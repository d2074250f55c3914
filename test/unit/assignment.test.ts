import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  assignSubject,
  assignmentBucket,
  BUCKETS,
  isValidPercent,
  percentToThreshold,
} from "../../src/rollouts/assignment.js";
import { murmur3_x86_32 } from "../../src/rollouts/murmur3.js";

interface Vectors {
  description: string;
  murmur3: { input?: string; input_hex: string; length: number; seed: number; hash: number; hash_hex: string }[];
  assignments: { rollout_id: string; subject: string; bucket: number }[];
  examples: {
    rollout_id: string;
    subject: string;
    percent: number;
    allow?: string[];
    assignment: "candidate" | "stable";
    note?: string;
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../fixtures/assignment-vectors.json", import.meta.url), "utf8"),
) as Vectors;

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("murmur3_x86_32", () => {
  it("matches the published values", () => {
    expect(murmur3_x86_32(utf8(""), 0)).toBe(0);
    expect(murmur3_x86_32(utf8(""), 1)).toBe(0x514e28b7);
    expect(murmur3_x86_32(utf8(""))).toBe(0);
    expect(murmur3_x86_32(utf8("The quick brown fox jumps over the lazy dog"), 0)).toBe(0x2e4ff723);
  });

  it.each(vectors.murmur3.map((v) => [v.input ?? `0x${v.input_hex}`, v] as const))(
    "vector %j",
    (_label, v) => {
      const bytes = hexBytes(v.input_hex);
      expect(bytes.length).toBe(v.length);
      if (v.input !== undefined) expect(utf8(v.input)).toEqual(bytes);
      expect(v.hash_hex).toBe(`0x${v.hash.toString(16).padStart(8, "0")}`);
      expect(murmur3_x86_32(bytes, v.seed)).toBe(v.hash);
    },
  );

  it("covers every tail length and non-ASCII input in the vectors", () => {
    const lengths = new Set(vectors.murmur3.map((v) => v.length));
    for (const n of [0, 1, 2, 3, 4, 5]) expect(lengths).toContain(n);
    expect(vectors.murmur3.some((v) => v.input !== undefined && /[^\x00-\x7f]/.test(v.input))).toBe(true);
    expect(vectors.description).toMatch(/independent reference implementation/);
  });

  it("returns unsigned 32-bit integers", () => {
    for (let i = 0; i < 2000; i++) {
      const h = murmur3_x86_32(utf8(`subject-${i}`), i);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThanOrEqual(0xffffffff);
    }
    // A hash with the top bit set must stay positive.
    expect(vectors.murmur3.some((v) => v.hash >= 0x80000000)).toBe(true);
  });

  it("reads only the given view of a larger buffer", () => {
    const backing = utf8("xxhelloxx");
    expect(murmur3_x86_32(backing.subarray(2, 7))).toBe(murmur3_x86_32(utf8("hello")));
  });

  it("rejects seeds that are not unsigned 32-bit integers", () => {
    expect(() => murmur3_x86_32(utf8("a"), -1)).toThrow(RangeError);
    expect(() => murmur3_x86_32(utf8("a"), 2 ** 32)).toThrow(RangeError);
    expect(() => murmur3_x86_32(utf8("a"), 1.5)).toThrow(RangeError);
    expect(() => murmur3_x86_32(utf8("a"), Number.NaN)).toThrow(RangeError);
  });
});

describe("assignmentBucket", () => {
  it.each(vectors.assignments.map((v) => [v.rollout_id, v.subject, v] as const))(
    "%s : %j",
    (_r, _s, v) => {
      expect(assignmentBucket(v.rollout_id, v.subject)).toBe(v.bucket);
    },
  );

  it("has about 20 published triples", () => {
    expect(vectors.assignments.length).toBeGreaterThanOrEqual(20);
  });

  it("is murmur3 of the UTF-8 of `<rollout id>:<subject>` modulo 10000", () => {
    const subject = "héllo wörld ✓";
    expect(assignmentBucket("r1", subject)).toBe(murmur3_x86_32(utf8(`r1:${subject}`), 0) % 10_000);
    for (let i = 0; i < 1000; i++) {
      const b = assignmentBucket("r1", `user-${i}`);
      expect(Number.isInteger(b) && b >= 0 && b < 10_000).toBe(true);
    }
  });

  it("hashes long keys, multi-byte characters and lone surrogates as the UTF-8 of the whole key, before and after one another", () => {
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const subjects = [`${"é😀".repeat(300)}\ud800x`, "short", `${"x".repeat(2000)}`, "ü", "\udfff"];
    for (const subject of subjects) {
      expect(assignmentBucket("ro_1", subject), subject.slice(0, 10)).toBe(murmur3_x86_32(utf8(`ro_1:${subject}`), 0) % BUCKETS);
    }
  });

  it("depends on the rollout id, so each rollout draws a different sample", () => {
    let same = 0;
    for (let i = 0; i < 1000; i++) {
      if (assignmentBucket("rollout-a", `user-${i}`) === assignmentBucket("rollout-b", `user-${i}`)) same++;
    }
    expect(same).toBeLessThan(5);
  });
});

describe("assignSubject", () => {
  const rolloutId = "9b2f6a3e-4c1d-4e8a-b7f0-2d5c8e1a9f34";
  const N = 100_000;
  const subjects = Array.from({ length: N }, (_, i) => `user-${i}`);

  it.each(vectors.examples.map((e) => [e.note ?? "", e] as const))("example: %s", (_note, e) => {
    expect(
      assignSubject({ rolloutId: e.rollout_id, subject: e.subject, percent: e.percent, ...(e.allow ? { allow: e.allow } : {}) }),
    ).toBe(e.assignment);
  });

  it("keeps every candidate on the candidate as the percent grows (sticky)", () => {
    const steps = [1, 5, 25, 50, 100];
    let moved = 0;
    let at5 = 0;
    for (const subject of subjects) {
      let wasCandidate = false;
      for (const percent of steps) {
        const isCandidate = assignSubject({ rolloutId, subject, percent }) === "candidate";
        if (wasCandidate && !isCandidate) moved++;
        if (percent === 5 && isCandidate) at5++;
        wasCandidate = isCandidate;
      }
    }
    expect(moved).toBe(0);
    expect(at5).toBeGreaterThan(0);
  });

  it.each([1, 5, 25])("gives %d %% of 100 000 subjects the candidate, ±0.3 points", (percent) => {
    let candidates = 0;
    for (const subject of subjects) {
      if (assignSubject({ rolloutId, subject, percent }) === "candidate") candidates++;
    }
    const share = (candidates / N) * 100;
    expect(Math.abs(share - percent)).toBeLessThanOrEqual(0.3);
  });

  it("gives everyone the candidate at 100 % and nobody at 0 %", () => {
    for (const subject of subjects.slice(0, 20_000)) {
      expect(assignSubject({ rolloutId, subject, percent: 100 })).toBe("candidate");
      expect(assignSubject({ rolloutId, subject, percent: 0 })).toBe("stable");
    }
  });

  it("puts allowlisted subjects on the candidate at any percent (array or Set)", () => {
    const stable = subjects.filter((s) => assignSubject({ rolloutId, subject: s, percent: 5 }) === "stable");
    const [a, b, c] = stable;
    expect(assignSubject({ rolloutId, subject: a!, percent: 0, allow: [a!, b!] })).toBe("candidate");
    expect(assignSubject({ rolloutId, subject: b!, percent: 5, allow: new Set([a!, b!]) })).toBe("candidate");
    expect(assignSubject({ rolloutId, subject: c!, percent: 5, allow: [a!, b!] })).toBe("stable");
    expect(assignSubject({ rolloutId, subject: c!, percent: 5, allow: [] })).toBe("stable");
    // Exact match only: no trimming or case folding.
    expect(assignSubject({ rolloutId, subject: c!.toUpperCase(), percent: 0, allow: [c!] })).toBe("stable");
  });

  it("honours 0.01 % granularity: bucket b is on the candidate from percent (b + 1) / 100", () => {
    const withBucket = (bucket: number) => subjects.find((s) => assignmentBucket(rolloutId, s) === bucket)!;
    for (const bucket of [0, 1, 499, 1233, 9998]) {
      const subject = withBucket(bucket);
      expect(subject).toBeDefined();
      const at = (bucket + 1) / 100;
      const below = bucket / 100;
      expect(assignSubject({ rolloutId, subject, percent: at })).toBe("candidate");
      expect(assignSubject({ rolloutId, subject, percent: below })).toBe("stable");
    }
    // 12.34 × 100 is 1233.999… in floating point; it still means 1234 buckets.
    expect(percentToThreshold(12.34)).toBe(1234);
    expect(percentToThreshold(0.01)).toBe(1);
    expect(percentToThreshold(0.07)).toBe(7);
    expect(percentToThreshold(100)).toBe(10_000);
    let share = 0;
    for (const subject of subjects) {
      if (assignSubject({ rolloutId, subject, percent: 0.01 }) === "candidate") share++;
    }
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(40);
  });

  it("rejects percents that are out of range, not finite or finer than 0.01", () => {
    for (const percent of [-0.01, 100.01, Number.NaN, Infinity, 12.345, 0.001]) {
      expect(isValidPercent(percent)).toBe(false);
      expect(() => assignSubject({ rolloutId, subject: "u", percent })).toThrow(RangeError);
    }
    for (const percent of [0, 0.01, 1, 5, 12.34, 33.33, 99.99, 100]) expect(isValidPercent(percent)).toBe(true);
  });
});
