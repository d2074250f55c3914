/**
 * The canary gate: compares the candidate's metrics with the baseline's (the stable set's) under
 * a GatePolicy and says what to do next. Pure; the caller picks and pools the observations.
 *
 *   decide({ policy, baseline, candidate, notes?, planned?, traffic?, segments? }) → Decision
 *     baseline, candidate  per metric a plain number (the point form) or a pooled sample
 *                          (analysis/samples.ts; analysis/pool.ts makes them from observations)
 *     notes                per side and metric, what pooling did (PooledSide.notes)
 *     planned              the effective sample size the intervals are tightest at: the current
 *                          step's min_samples (default: the policy's default_min_samples)
 *     traffic              per-window requests for the sample-ratio check (analysis/
 *                          assignment-check.ts); omit it when the rollout has an allowlist
 *     segments             the candidate's summed segment counts, for required_segments
 *   analysis/analyse.ts does all of it from a rollout's observations in one call.
 *
 * Each metric gets a verdict; the worst one decides (pass < hold = inconclusive = no_data <
 * pause < rollback < stop). When both sides have samples of a metric the judgment is
 * sequential (analysis/sequential.ts, quantile-ratio.ts, bands.ts): an always-valid interval
 * and the bands mapped onto it; otherwise the point rules, with the default numbers of API.md's
 * table:
 *   quality.*               pass ≥ b − pass_drop, hold ≥ b − 0.03, pause ≥ b − 0.05, else rollback
 *   latency.p95_ms          pass ≤ b × 1.10,      hold ≤ b × 1.15,  pause ≤ b × 1.25,  else rollback
 *   cost.tokens_per_request same ratios as latency (from policy.cost)
 *   latency.timeout_rate    rollback when c > 0 and c ≥ b × 2, else pass
 *   risk.*                  stop when c > max_events (0), else pass — needs no baseline; always point
 * (A sample on one side and a plain number on the other are compared as points: k/n, the
 * histogram's p95, the mean.) A metric seen on one side only is no_data (except a candidate's
 * risk count), and until both sides have reported anything the pseudo-metric "observations"
 * adds a no_data reason, so an unobserved rollout never advances. Then come `assignment`
 * (sample-ratio mismatch → pause) and `segments` (required segments not reached → inconclusive).
 *
 * Every reason keeps `baseline`, `candidate`, `threshold` and `verdict` (today's shape) and
 * adds `method`, `interval` (null for point; an unbounded end is null), `confidence` (null for
 * point), `samples` (null for point), `needed` (more trials per side, when inconclusive) and a
 * one-sentence `summary`.
 */
import type { GatePolicy } from "./gate-policy.js";
import { METRIC_NAMES, type MetricName } from "./metrics.js";
import { assignmentCheck, type TrafficWindow } from "./analysis/assignment-check.js";
import { judgePoint, judgeRisk, pointSummary, riskSummary } from "./analysis/point-gate.js";
import { judgeQuantileRatio } from "./analysis/quantile-ratio.js";
import { isHistogramSample, isMeanSample, isRateSample, pointOf, type MetricValue, type ObservedMetrics } from "./analysis/samples.js";
import { segmentsCheck } from "./analysis/segments-check.js";
import { judgeMeanRatio, judgeRateDifference, judgeTimeoutRate, type ReasonBody, type SequentialContext } from "./analysis/sequential.js";

export type { Action, Interval, Reason, SidePair, Signal, Verdict } from "./reason.js";
import type { Action, Reason, SidePair, Signal, Verdict } from "./reason.js";

export interface Decision {
  signal: Signal;
  action: Action;
  reasons: Reason[];
}

const SEVERITY: Record<Verdict, number> = {
  pass: 0,
  no_data: 1,
  inconclusive: 1,
  hold: 1,
  pause: 2,
  rollback: 3,
  stop: 4,
};

const OUTCOME: Record<Exclude<Verdict, "no_data" | "inconclusive">, { signal: Signal; action: Action }> = {
  pass: { signal: "green", action: "advance" },
  hold: { signal: "yellow", action: "hold" },
  pause: { signal: "yellow", action: "pause" },
  rollback: { signal: "red", action: "rollback" },
  stop: { signal: "black", action: "stop" },
};

export interface DecideInput {
  policy: GatePolicy;
  baseline?: ObservedMetrics;
  candidate?: ObservedMetrics;
  notes?: { baseline?: Partial<Record<MetricName, string>>; candidate?: Partial<Record<MetricName, string>> };
  planned?: number;
  traffic?: readonly TrafficWindow[];
  segments?: Readonly<Record<string, number>>;
}

const POINT_EXTRAS = { method: "point", interval: null, confidence: null, samples: null, needed: null } as const;

function pointBody(metric: MetricName, policy: GatePolicy, b: MetricValue | undefined, c: MetricValue | undefined, why?: string): ReasonBody {
  const bp = b === undefined ? undefined : pointOf(b);
  const cp = c === undefined ? undefined : pointOf(c);
  if (metric.startsWith("risk.")) {
    const judged = cp === undefined ? { verdict: "no_data" as const, threshold: null } : judgeRisk(cp, policy.risk.max_events);
    return { baseline: bp ?? null, candidate: cp ?? null, ...judged, ...POINT_EXTRAS, summary: riskSummary(metric, cp, policy.risk.max_events, judged.verdict) };
  }
  if (bp === undefined || cp === undefined) {
    const empty = (v: MetricValue | undefined) => v !== undefined && typeof v !== "number";
    const reason = empty(b) || empty(c) ? `no samples yet on the ${bp === undefined ? "baseline" : "candidate"} side` : undefined;
    const judged = { verdict: "no_data" as const, threshold: null };
    return { baseline: bp ?? null, candidate: cp ?? null, ...judged, ...POINT_EXTRAS, summary: pointSummary(metric, bp, cp, judged, reason) };
  }
  const judged = judgePoint(metric, policy, bp, cp);
  return { baseline: bp, candidate: cp, ...judged, ...POINT_EXTRAS, summary: pointSummary(metric, bp, cp, judged, why) };
}

function judgeMetric(metric: MetricName, policy: GatePolicy, b: MetricValue | undefined, c: MetricValue | undefined, ctx: SequentialContext): ReasonBody {
  if (!metric.startsWith("risk.") && b !== undefined && c !== undefined) {
    if (isRateSample(b) && isRateSample(c)) {
      return metric === "latency.timeout_rate" ? judgeTimeoutRate(b, c, ctx) : judgeRateDifference(metric, b, c, ctx);
    }
    if (isHistogramSample(b) && isHistogramSample(c)) return judgeQuantileRatio(b, c, ctx);
    if (isMeanSample(b) && isMeanSample(c)) {
      return judgeMeanRatio(b, c, ctx) ?? pointBody(metric, policy, b, c, "a mean of 0 has no ratio interval: compared as plain numbers");
    }
    const plain = typeof b === "number" && typeof c !== "number" ? "baseline" : typeof c === "number" && typeof b !== "number" ? "candidate" : undefined;
    if (plain) return pointBody(metric, policy, b, c, `the ${plain} reports plain numbers only: compared as points, no sample size`);
  }
  return pointBody(metric, policy, b, c);
}

function isEmpty(metrics: ObservedMetrics | undefined): boolean {
  return metrics === undefined || METRIC_NAMES.every((name) => metrics[name] === undefined);
}

export function decide(input: DecideInput): Decision {
  const { policy } = input;
  const baseline = input.baseline ?? {};
  const candidate = input.candidate ?? {};
  const ctx: SequentialContext = { policy, planned: input.planned ?? policy.default_min_samples };
  const reasons: Reason[] = [];

  if (isEmpty(input.baseline) || isEmpty(input.candidate)) {
    const missing = isEmpty(input.baseline) ? (isEmpty(input.candidate) ? "either set" : "the stable set") : "the candidate set";
    reasons.push({
      metric: "observations",
      baseline: null,
      candidate: null,
      threshold: "an observation of both the stable and the candidate set",
      verdict: "no_data",
      ...POINT_EXTRAS,
      summary: `observations: none yet from ${missing}: no_data`,
    });
  }
  for (const metric of METRIC_NAMES) {
    const b = baseline[metric];
    const c = candidate[metric];
    if (b === undefined && c === undefined) continue;
    const body = judgeMetric(metric, policy, b, c, ctx);
    const notes = (["candidate", "baseline"] as const).flatMap((side) => {
      const note = input.notes?.[side]?.[metric];
      return note === undefined ? [] : [`${side}: ${note}`];
    });
    reasons.push({ metric, ...body, summary: notes.length > 0 ? `${body.summary} (${notes.join("; ")})` : body.summary });
  }
  const assignment = input.traffic ? assignmentCheck(input.traffic) : undefined;
  if (assignment) reasons.push(assignment);
  const segments = segmentsCheck(policy.required_segments, input.segments ?? {});
  if (segments) reasons.push(segments);

  let worst: Verdict = "pass";
  for (const reason of reasons) {
    if (SEVERITY[reason.verdict] > SEVERITY[worst]) worst = reason.verdict;
  }
  return { ...OUTCOME[worst === "no_data" || worst === "inconclusive" ? "hold" : worst], reasons };
}
