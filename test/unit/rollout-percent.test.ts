import { describe, expect, it } from "vitest";
import { percentToBasisPoints } from "../../src/rollouts/service.js";

describe("percentToBasisPoints", () => {
  it.each([[0.01, 1], [1, 100], [12.34, 1234], [100, 10_000]])("turns %d %% into %d basis points", (percent, bp) => {
    expect(percentToBasisPoints(percent, "body.percent")).toBe(bp);
  });

  // 1e-9 and 1e-300 pass the "multiple of 0.01" test within float slack but round to 0.
  it.each([[0], [-1], [1e-9], [1e-300], [0.004], [100.01], [Number.NaN], [Infinity]])("refuses %d with 422 naming the field", (percent) => {
    expect(() => percentToBasisPoints(percent, "body.percent")).toThrow(
      expect.objectContaining({ status: 422, errors: [expect.objectContaining({ path: "body.percent" })] }),
    );
  });
});
