import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../src/core/page.js";

const forge = (p: unknown) => Buffer.from(JSON.stringify({ p })).toString("base64url");

describe("cursors", () => {
  it("round-trips every position the server issues", () => {
    for (const p of [0, 1, 50, 2 ** 31 - 1]) expect(decodeCursor(encodeCursor(p))).toBe(p);
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it.each([[-1], [2 ** 31], [Number.MAX_SAFE_INTEGER], [-Number.MAX_SAFE_INTEGER], [1.5], ["1"], [null]])(
    "refuses a forged position %j with 400 (it would reach Postgres out of range)",
    (p) => {
      expect(() => decodeCursor(forge(p))).toThrow(expect.objectContaining({ status: 400, code: "validation_failed" }));
    },
  );

  it("refuses text that is not a cursor", () => {
    for (const c of ["", "not-a-cursor", "eyJ4IjoxfQ", "%%%"]) expect(() => decodeCursor(c)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
