/**
 * latency.p95_ms from cumulative histograms: an always-valid interval for the ratio candidate
 * p95 / baseline p95. Pure.
 *
 * Method (after Howard & Ramdas, "Sequential estimation of quantiles with applications to
 * A/B-testing and best-arm identification", Bernoulli 2022): at the true p95 q, each request is
 * "≤ q" with probability exactly 0.95, so the empirical CDF at q is a Bernoulli mean with known
 * variance 0.95 · 0.05 / n. Its normal-mixture confidence sequence (confidence-sequence.ts) has
 * radius r, and q lies between the empirical quantiles at 0.95 − r and 0.95 + r:
 *
 *     side interval  [Q̂(0.95 − r), Q̂(0.95 + r)]      each side at α/2
 *     ratio interval [c_low / b_high, c_high / b_low]  covers the true ratio with ≥ 1 − α
 *
 * Q̂ interpolates linearly within the bucket holding the rank, as Prometheus' histogram_quantile
 * does. A quantile in the "+Inf" bucket has no upper end: c_high = ∞ makes the ratio's high end
 * unbounded (JSON null), b_high = ∞ makes its low end 0; such an interval can still prove a
 * regression (its low end) but never a pass.
 *
 * Bucket-resolution caveat: the data say where the p95 is only to within a bucket. Inside one
 * the interpolation assumes requests are spread evenly, which a skewed latency distribution is
 * not, so each end of the interval can be off by up to a bucket's width. The interval is about
 * as fine as the buckets near the p95: with bounds 1.25× apart (exponential buckets, factor
 * 1.25) the hold line at × 1.15 can be resolved; with Prometheus' default bounds (…, 500, 1000,
 * 2500, …) a p95 near 900 ms moving to 1 200 ms is interpolated across a 1 000–2 500 bucket and
 * the ratio is only roughly known. Report bounds at most ~1.25× apart around the p95.
 */
import type { Interval } from "../reason.js";
import { bandPhrase, bandThreshold, bandVerdict, neededTrials } from "./bands.js";
import { effectiveSize, radius } from "./confidence-sequence.js";
import { count, level, millis, ratio } from "./format.js";
import { highestFiniteBound, histogramQuantile, P95, sampleSize, type HistogramSample } from "./samples.js";
import { neededText, noDataBody, RATIO_WORDS, ratioLines, sequenceOf, type ReasonBody, type SequentialContext } from "./sequential.js";

export interface QuantileInterval {
  estimate: number;
  low: number;
  high: number;
  /** The CDF radius r: the interval is [Q̂(p − r), Q̂(p + r)]. */
  radius: number;
}

/** One side's always-valid interval for its quantile `p` at level 1 − alpha. */
export function quantileInterval(h: HistogramSample, p: number, sequence: { alpha: number; planned: number }): QuantileInterval {
  const n = sampleSize(h);
  const r = radius((p * (1 - p)) / n, n, sequence);
  return {
    estimate: histogramQuantile(h.buckets, p),
    low: p - r <= 0 ? 0 : histogramQuantile(h.buckets, p - r),
    high: p + r > 1 ? Number.POSITIVE_INFINITY : histogramQuantile(h.buckets, p + r),
    radius: r,
  };
}

/** ±Infinity (an unbounded end) → null, as JSON has no infinity. */
export function toInterval(low: number, high: number): Interval {
  return { low: Number.isFinite(low) ? low : null, high: Number.isFinite(high) ? high : null };
}

const hasFiniteBound = (h: HistogramSample) => h.buckets.some((b) => b.le !== "+Inf");

export function judgeQuantileRatio(b: HistogramSample, c: HistogramSample, ctx: SequentialContext): ReasonBody {
  const metric = "latency.p95_ms";
  const nb = sampleSize(b);
  const nc = sampleSize(c);
  if (nb === 0 || nc === 0) return noDataBody(metric, `no requests yet in the ${nb === 0 ? "baseline" : "candidate"}'s histogram`);
  if (!hasFiniteBound(b) || !hasFiniteBound(c)) {
    return noDataBody(metric, `the ${hasFiniteBound(b) ? "candidate" : "baseline"}'s histogram has no finite bucket bound (or none its windows share), so its p95 is unknown`);
  }
  const sequence = sequenceOf(ctx, (1 - ctx.policy.confidence) / 2);
  const bq = quantileInterval(b, P95, sequence);
  const cq = quantileInterval(c, P95, sequence);
  const low = bq.high === Number.POSITIVE_INFINITY ? 0 : cq.low / bq.high;
  const high = bq.low === 0 || cq.high === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : cq.high / bq.low;
  const shown = (q: QuantileInterval, h: HistogramSample) => (Number.isFinite(q.estimate) ? q.estimate : highestFiniteBound(h.buckets));
  const bv = shown(bq, b);
  const cv = shown(cq, c);
  const estimate = cv / bv;
  const lines = ratioLines(ctx.policy.latency);
  const verdict = bandVerdict(low, high, lines);
  const needed = verdict === "inconclusive" && estimate > 0
    ? neededTrials({ estimate: Math.log(estimate), lo: Math.log(low), hi: Math.log(high), line: Math.log(lines.hold), n: effectiveSize(nb, nc), sizes: { baseline: nb, candidate: nc }, sequence })
    : null;
  const above = (q: QuantileInterval, h: HistogramSample) => (Number.isFinite(q.estimate) ? "" : `above ${millis(highestFiniteBound(h.buckets))}`);
  const value = (q: QuantileInterval, h: HistogramSample, v: number) => above(q, h) || millis(v);
  const infNote = [cq, bq].some((q) => !Number.isFinite(q.high))
    ? `; the ${Number.isFinite(cq.high) ? "baseline" : "candidate"}'s p95 may lie in the "+Inf" bucket: add bounds above ${millis(highestFiniteBound((Number.isFinite(cq.high) ? b : c).buckets))}`
    : "";
  return {
    baseline: bv,
    candidate: cv,
    threshold: bandThreshold(verdict, lines, RATIO_WORDS),
    verdict,
    method: "sequential",
    interval: toInterval(low, high),
    confidence: ctx.policy.confidence,
    samples: { baseline: nb, candidate: nc },
    needed,
    summary:
      `p95 latency: candidate ${value(cq, c, cv)} vs baseline ${value(bq, b, bv)} (n = ${count(nc)} / ${count(nb)}), ` +
      `ratio ${Number.isFinite(cq.estimate) && Number.isFinite(bq.estimate) ? ratio(estimate) : `about ${ratio(estimate)}`}, ` +
      `${level(ctx.policy.confidence)} interval ${ratio(low)} … ${ratio(high)}, ${bandPhrase(verdict, lines, RATIO_WORDS)}: ${verdict}` +
      `${verdict === "inconclusive" ? neededText(needed, "requests") : ""}${infNote}`,
  };
}
