/**
 * The sample forms an observation may carry instead of a plain number, and what a number can be
 * read from each. Pure; no I/O.
 *
 *   rates (quality.success_rate, quality.adoption_rate, latency.timeout_rate)
 *       RateSample       {"count": k, "trials": n}              k events among n trials, 0 ≤ k ≤ n
 *   latency.p95_ms
 *       HistogramSample  {"buckets": [{"le": 100, "count": 31}, …, {"le": "+Inf", "count": 2000}]}
 *                        cumulative counts exactly as a Prometheus histogram gives them: bounds in
 *                        ms strictly rising, counts non-decreasing, the last bound "+Inf" (so its
 *                        count is the window's total)
 *   cost.tokens_per_request
 *       MeanSample       {"mean": m, "stddev": s, "count": n}    s is the population standard
 *                        deviation of the window's per-request values (divide by n); a sample SD
 *                        (n − 1) differs by √(n/(n−1)), which is immaterial at canary sizes
 *   risk.*               whole numbers only (counts are exact)
 *
 * A MetricValue is a plain number (the point form, compared as today) or one of the samples.
 * Pooled values (pool.ts) have the same shapes, so `decide()` takes either.
 */
import type { MetricName } from "../metric-names.js";

export interface RateSample {
  count: number;
  trials: number;
}

export interface Bucket {
  /** Upper bound in ms, or "+Inf" for the last bucket. */
  le: number | "+Inf";
  /** Cumulative: requests at or below `le`. */
  count: number;
}

export interface HistogramSample {
  buckets: Bucket[];
}

export interface MeanSample {
  mean: number;
  stddev: number;
  count: number;
}

export type Sample = RateSample | HistogramSample | MeanSample;
export type MetricValue = number | Sample;
/** An observation's metrics (or a side's pooled metrics): point numbers or samples, by name. */
export type ObservedMetrics = Partial<Record<MetricName, MetricValue>>;

/** Which sample form each metric accepts; risk counts have none. */
export type SampleKind = "rate" | "histogram" | "mean";

export const SAMPLE_KIND: Record<MetricName, SampleKind | undefined> = {
  "quality.success_rate": "rate",
  "quality.adoption_rate": "rate",
  "latency.p95_ms": "histogram",
  "latency.timeout_rate": "rate",
  "cost.tokens_per_request": "mean",
  "risk.injection_success": undefined,
  "risk.unauthorized_tool_calls": undefined,
  "risk.pii_leaks": undefined,
};

export const isRateSample = (v: unknown): v is RateSample =>
  typeof v === "object" && v !== null && typeof (v as RateSample).count === "number" && typeof (v as RateSample).trials === "number";
export const isHistogramSample = (v: unknown): v is HistogramSample =>
  typeof v === "object" && v !== null && Array.isArray((v as HistogramSample).buckets);
export const isMeanSample = (v: unknown): v is MeanSample =>
  typeof v === "object" && v !== null && typeof (v as MeanSample).mean === "number" && typeof (v as MeanSample).stddev === "number";
export const isSample = (v: unknown): v is Sample => isRateSample(v) || isHistogramSample(v) || isMeanSample(v);

/** The quantile latency.p95_ms stands for. */
export const P95 = 0.95;

/** The number of trials (rates), requests (histograms) or values (means) behind a sample. */
export function sampleSize(sample: Sample): number {
  if (isRateSample(sample)) return sample.trials;
  if (isHistogramSample(sample)) return sample.buckets.at(-1)?.count ?? 0;
  return sample.count;
}

/**
 * The quantile q of a cumulative histogram, interpolating linearly within the bucket that holds
 * rank q × total, as Prometheus' histogram_quantile does; the first bucket starts at 0.
 * Returns +Infinity when the rank falls in the "+Inf" bucket (the value is above every finite
 * bound: Prometheus would answer the highest finite bound, which hides how far above it is),
 * 0 for q ≤ 0 and NaN for an empty histogram.
 */
export function histogramQuantile(buckets: readonly Bucket[], q: number): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  if (q <= 0) return 0;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank && bucket.count > lowerCount) {
      if (bucket.le === "+Inf") return Number.POSITIVE_INFINITY;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / (bucket.count - lowerCount);
    }
    if (bucket.le === "+Inf") return Number.POSITIVE_INFINITY;
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return Number.POSITIVE_INFINITY;
}

/** The highest finite bucket bound, or 0 when there is none. */
export function highestFiniteBound(buckets: readonly Bucket[]): number {
  for (let i = buckets.length - 1; i >= 0; i--) {
    const le = buckets[i]!.le;
    if (le !== "+Inf") return le;
  }
  return 0;
}

/**
 * The plain number a value stands for, as the point gate compares it: k / n, the histogram's
 * p95 (interpolated; the highest finite bound when it lies in "+Inf", as Prometheus answers),
 * the mean. undefined when a sample holds nothing (n = 0).
 */
export function pointOf(value: MetricValue): number | undefined {
  if (typeof value === "number") return value;
  if (isRateSample(value)) return value.trials > 0 ? value.count / value.trials : undefined;
  if (isHistogramSample(value)) {
    const q = histogramQuantile(value.buckets, P95);
    if (Number.isNaN(q)) return undefined;
    return Number.isFinite(q) ? q : highestFiniteBound(value.buckets);
  }
  return value.count > 0 ? value.mean : undefined;
}
