import { describe, expect, it } from "vitest";
import { runGateBench } from "../../scripts/bench/gates/report.js";
import { createRandom, logGamma, type Random } from "../../scripts/bench/gates/random.js";
import { BASELINE, BOUNDS_MS, bucketProbabilities, drawWindow, prepare } from "../../scripts/bench/gates/world.js";

/** Mean and variance of `n` draws. */
function moments(n: number, draw: () => number): { mean: number; variance: number } {
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    sq += x * x;
  }
  const mean = sum / n;
  return { mean, variance: sq / n - mean * mean };
}

/** |sample mean − μ| within 5 standard errors, and the variance within 5 % of σ². */
function expectMoments(draws: number, draw: () => number, mu: number, sigma2: number): void {
  const m = moments(draws, draw);
  expect(Math.abs(m.mean - mu)).toBeLessThan(5 * Math.sqrt(sigma2 / draws) + 1e-12);
  if (sigma2 > 0) expect(Math.abs(m.variance / sigma2 - 1)).toBeLessThan(0.05);
}

describe("gate bench samplers", () => {
  const random: Random = createRandom(42);

  it("are deterministic per seed", () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const seq = (r: Random) => Array.from({ length: 5 }, () => r.uniform());
    const first = seq(a);
    expect(seq(b)).toEqual(first);
    expect(seq(c)).not.toEqual(first);
  });

  it("uniform: mean 1/2, variance 1/12, inside [0, 1)", () => {
    let outside = 0;
    expectMoments(200_000, () => {
      const u = random.uniform();
      if (u < 0 || u >= 1) outside++;
      return u;
    }, 0.5, 1 / 12);
    expect(outside).toBe(0);
  });

  it("normal: mean 0, variance 1", () => expectMoments(200_000, random.normal, 0, 1));

  it.each([0.5, 3, 999.5])("gamma(%d): mean = variance = shape", (shape) => expectMoments(100_000, () => random.gamma(shape), shape, shape));

  it("chi-square(k): mean k, variance 2k", () => expectMoments(100_000, () => random.chiSquare(1999), 1999, 2 * 1999));

  it.each([
    [10, 0.3],
    [2000, 0.9],
    [2000, 0.1],
    [2000, 0.001],
    [300, 0.5],
    [100_000, 0.42],
    [1, 0.5],
  ])("binomial(%d, %d): mean np, variance np(1 − p)", (n, p) => {
    let bad = 0;
    expectMoments(60_000, () => {
      const k = random.binomial(n, p);
      if (!Number.isInteger(k) || k < 0 || k > n) bad++;
      return k;
    }, n * p, n * p * (1 - p));
    expect(bad).toBe(0);
  });

  it("binomial(20, 0.3): the frequencies match the exact pmf (χ² goodness of fit)", () => {
    const n = 20;
    const p = 0.3;
    const draws = 100_000;
    const seen = new Array(n + 1).fill(0);
    for (let i = 0; i < draws; i++) seen[random.binomial(n, p)]++;
    let chi2 = 0;
    let cells = 0;
    for (let k = 0; k <= n; k++) {
      const pmf = Math.exp(logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p));
      const expected = draws * pmf;
      if (expected < 5) continue;
      chi2 += (seen[k] - expected) ** 2 / expected;
      cells++;
    }
    // χ² with ~13 degrees of freedom: the 99.99th percentile is about 40
    expect(cells).toBeGreaterThan(10);
    expect(chi2).toBeLessThan(40);
  });

  it("binomial(2000, 0.9) from the mode matches its exact pmf too", () => {
    const n = 2000;
    const p = 0.9;
    const draws = 100_000;
    const seen = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const k = random.binomial(n, p);
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    let chi2 = 0;
    let cells = 0;
    for (let k = 1750; k <= 1850; k++) {
      const pmf = Math.exp(logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p));
      const expected = draws * pmf;
      if (expected < 20) continue;
      chi2 += ((seen.get(k) ?? 0) - expected) ** 2 / expected;
      cells++;
    }
    expect(cells).toBeGreaterThan(30);
    expect(chi2 / cells).toBeLessThan(1.6);
  });

  it("multinomial: counts sum to n, each cell's mean is n·pᵢ", () => {
    const ps = [0.5, 0.2, 0.05, 0.25];
    const sums = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) {
      const k = random.multinomial(1000, ps);
      expect(k.reduce((a, b) => a + b, 0)).toBe(1000);
      k.forEach((x, j) => (sums[j]! += x));
    }
    ps.forEach((p, j) => expect(sums[j]! / 20_000).toBeCloseTo(1000 * p, 0));
  });

  it("logGamma: known values", () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 9);
  });
});

describe("the simulated service", () => {
  it("puts the baseline's p95 at 900 ms on its bucket bounds", () => {
    const probabilities = bucketProbabilities(900);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(BOUNDS_MS).toHaveLength(20);
    const below909 = probabilities.slice(0, BOUNDS_MS.indexOf(909) + 1).reduce((a, b) => a + b, 0);
    expect(below909).toBeGreaterThan(0.95);
    expect(below909).toBeLessThan(0.953);
  });

  it("draws windows whose pooled values match the model (success, tokens' mean and population sd)", () => {
    const random = createRandom(3);
    const side = prepare(BASELINE);
    let k = 0;
    let n = 0;
    const means: number[] = [];
    const variances: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const w = drawWindow(random, side, 500);
      k += w.success.count;
      n += w.success.trials;
      expect(w.latency.buckets.at(-1)).toEqual({ le: "+Inf", count: 500 });
      means.push(w.tokens.mean);
      variances.push(w.tokens.stddev ** 2);
    }
    expect(k / n).toBeCloseTo(0.9, 2);
    expect(means.reduce((a, b) => a + b, 0) / means.length).toBeCloseTo(600, 0);
    // E[population s²] = σ² (n − 1) / n with σ = 150
    expect(variances.reduce((a, b) => a + b, 0) / variances.length / ((150 ** 2 * 499) / 500)).toBeCloseTo(1, 1);
  });
});

describe("the gate bench, a small seeded run", () => {
  it("meets every target with the sequential gate; the point gate fails A/A on small windows", { timeout: 120_000 }, () => {
    const result = runGateBench({ rollouts: 150, windows: 20, requests: 2000, seed: 11 });
    const failed = result.rows.filter((r) => r.pass === false).map((r) => `${r.measure}: ${r.pinset}`);
    expect(failed).toEqual([]);
    expect(result.rows.filter((r) => r.pass === true).length).toBe(10);
    const aa300 = result.figures.aa300!;
    expect(aa300["false rollback"]!.sequential).toBe(0);
    expect(aa300["false rollback"]!.point!).toBeGreaterThan(0.1);
    expect(result.figures.aa!["reached advance"]!.sequential!).toBeGreaterThan(0.95);
  });
});
