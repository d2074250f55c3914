/**
 * The simulated service behind the gate bench: what one side serves in one window.
 *
 *   success   each request succeeds with probability `success` (baseline 0.90)
 *   latency   lognormal, σ = 0.5 in log space, median chosen so the p95 is `p95Ms` (baseline
 *             900 ms: median 395 ms); reported as a Prometheus histogram on exponential bounds
 *             50 × 1.25ⁱ ms, i = 0 … 19, rounded to whole ms (50, 63, 78, … 2 776, 3 469), + "+Inf"
 *   tokens    normal, mean `tokens` (baseline 600), standard deviation a quarter of the mean
 *             (150), reported as mean, population stddev and count
 * One window's sample is drawn exactly, without simulating requests: k ~ Binomial(n, success);
 * bucket counts ~ Multinomial(n, bucket probabilities); for normal values the sample mean is
 * N(μ, σ²/n) and, independently, n·s²/σ² (population s) ~ χ²(n − 1).
 */
import type { HistogramSample, MeanSample, RateSample } from "../../../src/rollouts/analysis/samples.js";
import type { Random } from "./random.js";

export interface SideModel {
  success: number;
  p95Ms: number;
  tokens: number;
}

export const BASELINE: SideModel = { success: 0.9, p95Ms: 900, tokens: 600 };
export const LOG_SIGMA = 0.5;
export const TOKENS_CV = 0.25;
const Z95 = 1.6448536269514722;

export const BOUNDS_MS: readonly number[] = Array.from({ length: 20 }, (_, i) => Math.round(50 * 1.25 ** i));

/** Φ(x), from erfc with ~1e-7 relative accuracy (Numerical Recipes' erfcc). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Each bucket's own probability (not cumulative), the last one for "+Inf". */
export function bucketProbabilities(p95Ms: number): number[] {
  const mu = Math.log(p95Ms) - Z95 * LOG_SIGMA;
  const cdf = BOUNDS_MS.map((le) => normalCdf((Math.log(le) - mu) / LOG_SIGMA));
  return [...cdf.map((c, i) => c - (i === 0 ? 0 : cdf[i - 1]!)), 1 - cdf.at(-1)!];
}

export interface WindowSample {
  success: RateSample;
  latency: HistogramSample;
  tokens: MeanSample;
}

/** A side's model with its bucket probabilities worked out once. */
export interface PreparedSide {
  model: SideModel;
  buckets: number[];
}

export function prepare(model: SideModel): PreparedSide {
  return { model, buckets: bucketProbabilities(model.p95Ms) };
}

export function drawWindow(random: Random, side: PreparedSide, n: number): WindowSample {
  const counts = random.multinomial(n, side.buckets);
  let cumulative = 0;
  const buckets = counts.map((k, i) => {
    cumulative += k;
    return { le: i < BOUNDS_MS.length ? BOUNDS_MS[i]! : ("+Inf" as const), count: cumulative };
  });
  const sigma = side.model.tokens * TOKENS_CV;
  const mean = side.model.tokens + (sigma / Math.sqrt(n)) * random.normal();
  const stddev = sigma * Math.sqrt(random.chiSquare(n - 1) / n);
  return {
    success: { count: random.binomial(n, side.model.success), trials: n },
    latency: { buckets },
    tokens: { mean, stddev, count: n },
  };
}
