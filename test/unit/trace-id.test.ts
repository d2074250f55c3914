import { describe, expect, it } from "vitest";
import { traceIdGenerator } from "../../src/http/trace-id.js";

describe("generated trace ids", () => {
  it("are 32 lowercase hex digits, distinct across many pool refills and across generators", () => {
    const a = traceIdGenerator();
    const b = traceIdGenerator();
    const ids = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      for (const id of [a(), b()]) {
        expect(id).toMatch(/^[0-9a-f]{32}$/);
        ids.add(id);
      }
    }
    expect(ids.size).toBe(4_000);
  });
});
