/**
 * Pooling: one value per metric per side out of a rollout's observations. Pure.
 *
 *   poolSides(newestFirst, { since })  → { baseline, candidate }: PooledSide
 *   poolRate / poolHistogram / poolMean  the associative pair-wise rules (the bench folds with them)
 *
 * The rules, per side and metric:
 * - Sample forms pool over the windows recorded at or after `since` (the wiring passes the
 *   current step's start, `rollouts.step_started_at`; omitted = every window):
 *     rates       counts add, trials add
 *     histograms  cumulative counts add bound by bound. Windows whose bounds differ pool on the
 *                 bounds they all share (a cumulative count at a bound is exact, so dropping the
 *                 others loses resolution, never correctness); "+Inf" is always shared. When
 *                 nothing finite is shared the p95 is unknowable and the gate says no_data.
 *     means       exact: n = Σnᵢ, m = Σnᵢmᵢ / n, s² = Σnᵢ(sᵢ² + (mᵢ − m)²) / n (parallel axes)
 *   Why the step's windows: within a step the split is constant, so both sides weigh every
 *   window alike and a time-of-day drift cancels in the difference; pooled across steps the
 *   candidate (1 % early, 50 % late) would weigh later windows more than the baseline does
 *   (Simpson's paradox). A step also judges its own traffic level (load-dependent latency), and
 *   `min_samples` counts per step. The price: each step starts a new confidence sequence.
 *   A metric the rollout has samples of but the step has none yet pools to an empty sample
 *   (n = 0): it stays in the decision as no_data instead of disappearing from it.
 * - Plain numbers keep today's rule: the newest observation of the side that reports the
 *   metric, over the whole rollout.
 * - Point and sample forms mixed for one metric on one side: once any window of the rollout has
 *   the sample form, the sample form wins and the side's plain numbers for that metric are
 *   ignored (a note says how many), so a noisy point can never override counted evidence.
 * - Risk counts are summed over every observation of the rollout (one event is enough).
 * - `segments` are summed over every candidate observation; `requests` over the step's windows.
 */
import { METRIC_NAMES, type MetricName } from "../metric-names.js";
import {
  isHistogramSample,
  isMeanSample,
  isRateSample,
  SAMPLE_KIND,
  type Bucket,
  type HistogramSample,
  type MeanSample,
  type MetricValue,
  type ObservedMetrics,
  type RateSample,
  type Sample,
} from "./samples.js";

/** What pooling needs of an observation: the store's row shape (snake_case) fits as it is. */
export interface PoolableObservation {
  id: string;
  side: "stable" | "candidate";
  window_start?: Date;
  window_end?: Date;
  /**
   * When the registry recorded it (the store's rows have it). A step's windows are those
   * recorded since the step began, by the database's clock, so a reporter's clock (or a
   * backfilled window time) cannot move samples between steps; a window counts for the step in
   * force when it arrives, so reporters post a window when it closes. Without it (pure callers,
   * the bench) window_start is compared instead.
   */
  created_at?: Date;
  /** As stored: dotted metric name → number or sample (anything else is ignored). */
  metrics: Record<string, unknown>;
  requests?: number | null;
  segments?: Record<string, number> | null;
}

export interface PooledSide {
  /** undefined when the side has no observation at all. */
  metrics: ObservedMetrics | undefined;
  /** The ids of the side's observations, newest first. */
  observations: string[];
  /** Per metric, what pooling did that a reader should know (ignored points, dropped bounds). */
  notes: Partial<Record<MetricName, string>>;
  /** Requests summed over the pooled windows that report them; undefined when none does. */
  requests: number | undefined;
  /** Segment counts summed over every observation of the side. */
  segments: Record<string, number>;
}

export function poolRate(a: RateSample, b: RateSample): RateSample {
  return { count: a.count + b.count, trials: a.trials + b.trials };
}

export function poolHistogram(a: HistogramSample, b: HistogramSample): HistogramSample {
  const other = new Map<number | "+Inf", number>(b.buckets.map((x) => [x.le, x.count]));
  const buckets: Bucket[] = [];
  for (const bucket of a.buckets) {
    const count = other.get(bucket.le);
    if (count !== undefined) buckets.push({ le: bucket.le, count: bucket.count + count });
  }
  return { buckets };
}

export function poolMean(a: MeanSample, b: MeanSample): MeanSample {
  const count = a.count + b.count;
  const mean = (a.count * a.mean + b.count * b.mean) / count;
  const spread = (s: MeanSample) => s.count * (s.stddev * s.stddev + (s.mean - mean) ** 2);
  return { mean, stddev: Math.sqrt((spread(a) + spread(b)) / count), count };
}

function poolSamples(samples: readonly Sample[]): Sample {
  return samples.reduce((acc, s) => {
    if (isRateSample(acc) && isRateSample(s)) return poolRate(acc, s);
    if (isHistogramSample(acc) && isHistogramSample(s)) return poolHistogram(acc, s);
    if (isMeanSample(acc) && isMeanSample(s)) return poolMean(acc, s);
    return acc;
  });
}

/** A stored value of the form this metric accepts, or undefined. */
function sampleOf(name: MetricName, value: unknown): Sample | undefined {
  switch (SAMPLE_KIND[name]) {
    case "rate":
      return isRateSample(value) ? value : undefined;
    case "histogram":
      return isHistogramSample(value) ? value : undefined;
    case "mean":
      return isMeanSample(value) ? value : undefined;
    default:
      return undefined;
  }
}

/** A sample of nothing, of the metric's form (n = 0). */
function emptySample(kind: "rate" | "histogram" | "mean"): Sample {
  if (kind === "rate") return { count: 0, trials: 0 };
  if (kind === "histogram") return { buckets: [{ le: "+Inf", count: 0 }] };
  return { mean: 0, stddev: 0, count: 0 };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const finiteBounds = (h: HistogramSample) => h.buckets.filter((b) => b.le !== "+Inf").length;

function poolSide(newestFirst: readonly PoolableObservation[], since: Date | undefined): PooledSide {
  const inStep = (o: PoolableObservation) => {
    const at = o.created_at ?? o.window_start;
    return since === undefined || at === undefined || at.getTime() >= since.getTime();
  };
  // Null prototype: a stored segment name is data, never a key that could reach Object.prototype.
  const segments: Record<string, number> = Object.create(null) as Record<string, number>;
  let requests: number | undefined;
  for (const o of newestFirst) {
    for (const [name, n] of Object.entries(o.segments ?? {})) if (typeof n === "number") segments[name] = (segments[name] ?? 0) + n;
    if (typeof o.requests === "number" && inStep(o)) requests = (requests ?? 0) + o.requests;
  }
  if (newestFirst.length === 0) return { metrics: undefined, observations: [], notes: {}, requests, segments };

  const metrics: ObservedMetrics = {};
  const notes: PooledSide["notes"] = {};
  for (const name of METRIC_NAMES) {
    if (SAMPLE_KIND[name] === undefined) {
      let sum: number | undefined;
      for (const o of newestFirst) {
        const v = o.metrics[name];
        if (typeof v === "number") sum = (sum ?? 0) + v;
      }
      if (sum !== undefined) metrics[name] = sum;
      continue;
    }
    let latestPoint: number | undefined;
    let points = 0;
    let samplesAnywhere = 0;
    const samples: Sample[] = [];
    for (const o of newestFirst) {
      const v = o.metrics[name];
      if (typeof v === "number") {
        points++;
        latestPoint ??= v;
        continue;
      }
      const sample = sampleOf(name, v);
      if (sample === undefined) continue;
      samplesAnywhere++;
      if (inStep(o)) samples.push(sample);
    }
    if (samplesAnywhere === 0) {
      if (latestPoint !== undefined) metrics[name] = latestPoint as MetricValue;
      continue;
    }
    const said: string[] = [];
    if (points > 0) said.push(`${plural(points, "plain value")} ignored: the sample form wins once present`);
    if (samples.length === 0) {
      // An empty sample, not nothing: the metric says no_data (and counts 0 towards min_samples)
      // rather than vanishing from the decision, which would let the other metrics pass alone.
      metrics[name] = emptySample(SAMPLE_KIND[name]!);
      said.push("no sample windows in this step yet");
    } else {
      const pooled = poolSamples(samples);
      metrics[name] = pooled;
      if (isHistogramSample(pooled)) {
        const most = Math.max(...samples.map((s) => finiteBounds(s as HistogramSample)));
        if (finiteBounds(pooled) < most) said.push(`bucket bounds differ between windows: pooled on the ${plural(finiteBounds(pooled), "finite bound")} all windows share`);
      }
    }
    if (said.length > 0) notes[name] = said.join("; ");
  }
  return { metrics, observations: newestFirst.map((o) => o.id), notes, requests, segments };
}

/**
 * Each side's pooled metrics. `newestFirst`: the rollout's observations, newest first (latest
 * window_end, then latest recorded), as the store returns them; `since`: the current step's start.
 */
export function poolSides(
  newestFirst: readonly PoolableObservation[],
  options: { since?: Date } = {},
): { baseline: PooledSide; candidate: PooledSide } {
  return {
    baseline: poolSide(newestFirst.filter((o) => o.side === "stable"), options.since),
    candidate: poolSide(newestFirst.filter((o) => o.side === "candidate"), options.since),
  };
}
