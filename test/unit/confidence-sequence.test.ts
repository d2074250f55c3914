import { describe, expect, it } from "vitest";
import {
  alwaysValidP,
  effectiveSize,
  growthFactor,
  mixingRatio,
  optimalMixing,
  radius,
  radiusFactor,
} from "../../src/rollouts/analysis/confidence-sequence.js";

/** GrowthBook's closed-form tuning: ρ² · n* = 2 ln(1/α) + ln(1 + 2 ln(1/α)). */
const growthbookMixing = (alpha: number) => 2 * Math.log(1 / alpha) + Math.log(1 + 2 * Math.log(1 / alpha));

/** Robbins' mixture boundary written with the mixing variance τ², as in Johari et al. */
const robbins = (v: number, tau2: number, alpha: number) =>
  Math.sqrt(((v * (v + tau2)) / tau2) * (Math.log((v + tau2) / v) + 2 * Math.log(1 / alpha)));

describe("the normal-mixture confidence sequence", () => {
  it("tunes x* = τ²/v where the radius is smallest: x = ln(1 + x) + 2 ln(1/α)", () => {
    for (const alpha of [0.5, 0.1, 0.05, 0.01, 0.001]) {
      const x = optimalMixing(alpha);
      expect(x).toBeCloseTo(Math.log1p(x) + 2 * Math.log(1 / alpha), 10);
      // a minimum: G is larger on both sides, and G(x*) = x* + 1
      expect(radiusFactor(x, alpha)).toBeLessThan(radiusFactor(x * 1.01, alpha));
      expect(radiusFactor(x, alpha)).toBeLessThan(radiusFactor(x / 1.01, alpha));
      expect(radiusFactor(x, alpha)).toBeCloseTo(x + 1, 10);
    }
    expect(optimalMixing(0.05)).toBeCloseTo(8.211968, 5);
  });

  it("is Robbins' boundary θ̂ ± √(v(v+τ²)/τ² · (ln((v+τ²)/v) + 2 ln(1/α))) with τ² = x·v", () => {
    // v = 1e-4, τ² = 5e-4 → 0.03056119896143351 (computed independently)
    expect(robbins(1e-4, 5e-4, 0.05)).toBeCloseTo(0.03056119896143351, 14);
    expect(radius(1e-4, 1, { alpha: 0.05, planned: 1, mixing: 5 })).toBeCloseTo(0.03056119896143351, 14);
    for (const [v, n, planned] of [[0.0004, 2000, 500], [2.5, 10, 1000], [1e-7, 40_000, 500]] as const) {
      const x = mixingRatio(n, { alpha: 0.05, planned });
      expect(radius(v, n, { alpha: 0.05, planned })).toBeCloseTo(robbins(v, x * v, 0.05), 12);
    }
  });

  it("matches GrowthBook's sequential half-width with its tuning (known values)", () => {
    // halfwidth(s2, n, N*, α) = √s2 · √(2(nρ²+1) ln(√(nρ²+1)/α) / (nρ)²), ρ² = (2 ln(1/α) + ln(1 + 2 ln(1/α))) / N*,
    // evaluated independently: (1, 1000, 5000, .05) → 0.10637547006557505; (0.18, 4000, 500, .05) → 0.02154780978650642;
    // (2.5, 123, 1000, .01) → 0.5914094884981564
    const gb = (s2: number, n: number, planned: number, alpha: number) => radius(s2 / n, n, { alpha, planned, mixing: growthbookMixing(alpha) });
    expect(gb(1, 1000, 5000, 0.05)).toBeCloseTo(0.10637547006557505, 13);
    expect(gb(0.18, 4000, 500, 0.05)).toBeCloseTo(0.02154780978650642, 13);
    expect(gb(2.5, 123, 1000, 0.01)).toBeCloseTo(0.5914094884981564, 13);
    // and the exact x* is within 0.2 % of GrowthBook's approximation at the planned size
    const exact = radius(1 / 5000, 5000, { alpha: 0.05, planned: 5000 });
    expect(exact / gb(1, 5000, 5000, 0.05)).toBeGreaterThan(0.998);
    expect(exact / gb(1, 5000, 5000, 0.05)).toBeLessThanOrEqual(1);
  });

  it("is wider than a fixed-sample interval (1.96 √v) and smallest at the planned size", () => {
    const at = (n: number) => radius(1 / n, n, { alpha: 0.05, planned: 500 }) * Math.sqrt(n);
    expect(at(500)).toBeCloseTo(Math.sqrt(optimalMixing(0.05) + 1), 10);
    expect(at(500)).toBeGreaterThan(1.96);
    expect(at(5000)).toBeGreaterThan(at(500));
    expect(at(50)).toBeGreaterThan(at(500));
  });

  it("handles the edges: no samples → ∞, no variance → 0", () => {
    expect(radius(1, 0, { alpha: 0.05, planned: 500 })).toBe(Number.POSITIVE_INFINITY);
    expect(radius(0, 100, { alpha: 0.05, planned: 500 })).toBe(0);
    expect(effectiveSize(0, 10)).toBe(0);
    expect(effectiveSize(18_000, 2_000)).toBe(1_800);
  });

  it("the always-valid p-value is ≤ α exactly when the interval excludes 0 (duality)", () => {
    const o = { alpha: 0.05, planned: 500 };
    const v = 1e-4;
    const n = 2000;
    const r = radius(v, n, o);
    for (const scale of [0.9, 0.999, 1.001, 1.5]) {
      const estimate = r * scale;
      expect(alwaysValidP(estimate / Math.sqrt(v), n, o) <= 0.05).toBe(scale > 1);
    }
  });

  it("growthFactor: after growing by f the radius at the same per-unit variance falls to the distance", () => {
    const o = { alpha: 0.05, planned: 500 };
    const sigma2 = 0.18;
    const n = 1000;
    const r = radius(sigma2 / n, n, o);
    const f = growthFactor({ halfWidth: r, distance: r / 3, n, ...o })!;
    expect(f).toBeGreaterThan(9);
    expect(radius(sigma2 / (n * f), n * f, o)).toBeCloseTo(r / 3, 6);
    expect(growthFactor({ halfWidth: r, distance: 2 * r, n, ...o })).toBe(1);
    expect(growthFactor({ halfWidth: r, distance: 0, n, ...o })).toBeUndefined();
  });

  it("keeps its error rate under continuous monitoring (seeded simulation, 2 000 sequences × 400 looks)", () => {
    // A null effect observed one unit at a time, checked after every unit: the share of
    // sequences whose interval ever excludes 0 must stay below α (a fixed 95 % interval
    // looked at this often would exclude it in roughly half of them).
    let state = 0x9e3779b9;
    const uniform = () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
    const o = { alpha: 0.05, planned: 100 };
    let sequential = 0;
    let naive = 0;
    for (let s = 0; s < 2000; s++) {
      let sum = 0;
      let crossed = false;
      let naiveCrossed = false;
      for (let n = 1; n <= 400; n++) {
        sum += normal();
        const mean = sum / n;
        if (Math.abs(mean) > radius(1 / n, n, o)) crossed = true;
        if (Math.abs(mean) > 1.96 / Math.sqrt(n)) naiveCrossed = true;
      }
      if (crossed) sequential++;
      if (naiveCrossed) naive++;
    }
    expect(sequential / 2000).toBeLessThan(0.05);
    expect(naive / 2000).toBeGreaterThan(0.2);
  });
});
