/**
 * The canary gate: compares the candidate's metrics with the baseline's (the stable set's) under
 * a GatePolicy and says what to do next. Pure; the caller picks the observations.
 *
 * Each metric gets a verdict; the worst one decides (pass < hold < pause < rollback < stop, and
 * no_data counts as hold). Rules, with the default numbers of API.md's table:
 *   quality.*               pass ≥ b − pass_drop, hold ≥ b − 0.03, pause ≥ b − 0.05, else rollback
 *   latency.p95_ms          pass ≤ b × 1.10,      hold ≤ b × 1.15,  pause ≤ b × 1.25,  else rollback
 *   cost.tokens_per_request same ratios as latency (from policy.cost)
 *   latency.timeout_rate    rollback when c > 0 and c ≥ b × 2, else pass
 *   risk.*                  stop when c > max_events (0), else pass — needs no baseline
 * A metric seen on one side only is no_data (except a candidate's risk count), and until both
 * sides have reported anything the pseudo-metric "observations" adds a no_data reason, so an
 * unobserved rollout never advances.
 *
 * Boundaries are inclusive as the table states them; comparisons allow a relative 1e-9 so that
 * 0.95 − 0.03 (= 0.9199999999999999 in binary) still admits a candidate of exactly 0.92.
 */
import type { GatePolicy } from "./gate-policy.js";
import { METRIC_NAMES, type MetricName, type Metrics } from "./metrics.js";

export type Verdict = "pass" | "hold" | "pause" | "rollback" | "stop" | "no_data";
export type Signal = "green" | "yellow" | "red" | "black";
export type Action = "advance" | "hold" | "pause" | "rollback" | "stop";

export interface Reason {
  /** A metric name, or "observations" when a side has not reported at all. */
  metric: MetricName | "observations";
  baseline: number | null;
  candidate: number | null;
  /** The condition the candidate met for its verdict, e.g. "≥ 0.92 (baseline − 0.03)". */
  threshold: string | number | null;
  verdict: Verdict;
}

export interface Decision {
  signal: Signal;
  action: Action;
  reasons: Reason[];
}

const SEVERITY: Record<Verdict, number> = {
  pass: 0,
  no_data: 1,
  hold: 1,
  pause: 2,
  rollback: 3,
  stop: 4,
};

const OUTCOME: Record<Exclude<Verdict, "no_data">, { signal: Signal; action: Action }> = {
  pass: { signal: "green", action: "advance" },
  hold: { signal: "yellow", action: "hold" },
  pause: { signal: "yellow", action: "pause" },
  rollback: { signal: "red", action: "rollback" },
  stop: { signal: "black", action: "stop" },
};

function tolerance(bound: number): number {
  return 1e-9 * Math.max(1, Math.abs(bound));
}
const atLeast = (value: number, bound: number): boolean => value >= bound - tolerance(bound);
const atMost = (value: number, bound: number): boolean => value <= bound + tolerance(bound);

/** Trims binary noise (902.0000000000001 → 902) for display only. */
function fmt(value: number): string {
  return String(Number.parseFloat(value.toPrecision(12)));
}

type Judged = Pick<Reason, "threshold" | "verdict">;
type Band = readonly ["pass" | "hold" | "pause", number];

function judgeQuality(b: number, c: number, q: GatePolicy["quality"]): Judged {
  const rule = (drop: number) => (drop === 0 ? "baseline" : `baseline − ${fmt(drop)}`);
  const bands: Band[] = [
    ["pass", q.pass_drop],
    ["hold", q.hold_drop],
    ["pause", q.pause_drop],
  ];
  for (const [verdict, drop] of bands) {
    if (atLeast(c, b - drop)) return { verdict, threshold: `≥ ${fmt(b - drop)} (${rule(drop)})` };
  }
  return { verdict: "rollback", threshold: `< ${fmt(b - q.pause_drop)} (${rule(q.pause_drop)})` };
}

function judgeRatio(
  b: number,
  c: number,
  r: { pass_ratio: number; hold_ratio: number; pause_ratio: number },
): Judged {
  const rule = (ratio: number) => (ratio === 1 ? "baseline" : `baseline × ${fmt(ratio)}`);
  const bands: Band[] = [
    ["pass", r.pass_ratio],
    ["hold", r.hold_ratio],
    ["pause", r.pause_ratio],
  ];
  for (const [verdict, ratio] of bands) {
    if (atMost(c, b * ratio)) return { verdict, threshold: `≤ ${fmt(b * ratio)} (${rule(ratio)})` };
  }
  return { verdict: "rollback", threshold: `> ${fmt(b * r.pause_ratio)} (${rule(r.pause_ratio)})` };
}

function judgeTimeoutRate(b: number, c: number, ratio: number): Judged {
  const bound = b * ratio;
  if (c > 0 && atLeast(c, bound)) {
    return {
      verdict: "rollback",
      threshold: b === 0 ? "> 0 (baseline is 0)" : `≥ ${fmt(bound)} (baseline × ${fmt(ratio)})`,
    };
  }
  return {
    verdict: "pass",
    threshold: b === 0 ? "= 0 (baseline is 0)" : `< ${fmt(bound)} (baseline × ${fmt(ratio)})`,
  };
}

function judgeRisk(c: number, maxEvents: number): Judged {
  return c > maxEvents
    ? { verdict: "stop", threshold: `> ${maxEvents} events` }
    : { verdict: "pass", threshold: `≤ ${maxEvents} events` };
}

function judge(metric: MetricName, policy: GatePolicy, b: number | undefined, c: number | undefined): Judged {
  if (metric.startsWith("risk.")) {
    return c === undefined ? { verdict: "no_data", threshold: null } : judgeRisk(c, policy.risk.max_events);
  }
  if (b === undefined || c === undefined) return { verdict: "no_data", threshold: null };
  switch (metric) {
    case "quality.success_rate":
    case "quality.adoption_rate":
      return judgeQuality(b, c, policy.quality);
    case "latency.p95_ms":
      return judgeRatio(b, c, policy.latency);
    case "latency.timeout_rate":
      return judgeTimeoutRate(b, c, policy.latency.timeout_rate_ratio);
    case "cost.tokens_per_request":
      return judgeRatio(b, c, policy.cost);
    default:
      throw new Error(`no gate rule for metric ${metric}`);
  }
}

function isEmpty(metrics: Metrics | undefined): boolean {
  return metrics === undefined || METRIC_NAMES.every((name) => metrics[name] === undefined);
}

export function decide(input: { policy: GatePolicy; baseline?: Metrics; candidate?: Metrics }): Decision {
  const { policy } = input;
  const baseline = input.baseline ?? {};
  const candidate = input.candidate ?? {};
  const reasons: Reason[] = [];

  if (isEmpty(input.baseline) || isEmpty(input.candidate)) {
    reasons.push({
      metric: "observations",
      baseline: null,
      candidate: null,
      threshold: "an observation of both the stable and the candidate set",
      verdict: "no_data",
    });
  }
  for (const metric of METRIC_NAMES) {
    const b = baseline[metric];
    const c = candidate[metric];
    if (b === undefined && c === undefined) continue;
    reasons.push({ metric, baseline: b ?? null, candidate: c ?? null, ...judge(metric, policy, b, c) });
  }

  let worst: Verdict = "pass";
  for (const reason of reasons) {
    if (SEVERITY[reason.verdict] > SEVERITY[worst]) worst = reason.verdict;
  }
  return { ...OUTCOME[worst === "no_data" ? "hold" : worst], reasons };
}
