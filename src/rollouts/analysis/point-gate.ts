/**
 * The point gate: one plain number per side per metric, compared with the policy's lines as
 * today (rules in gates.ts). Used when either side of a metric has only plain numbers, and for
 * risk counts, which are exact. Pure.
 */
import type { GatePolicy } from "../gate-policy.js";
import type { MetricName } from "../metric-names.js";
import { fmt, LABEL, metricValue } from "./format.js";

export type PointVerdict = "pass" | "hold" | "pause" | "rollback" | "stop";

export interface PointJudged {
  threshold: string;
  verdict: PointVerdict;
}

function tolerance(bound: number): number {
  return 1e-9 * Math.max(1, Math.abs(bound));
}
const atLeast = (value: number, bound: number): boolean => value >= bound - tolerance(bound);
const atMost = (value: number, bound: number): boolean => value <= bound + tolerance(bound);

type Band = readonly ["pass" | "hold" | "pause", number];

function judgeQuality(b: number, c: number, q: GatePolicy["quality"]): PointJudged {
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

function judgeRatio(b: number, c: number, r: { pass_ratio: number; hold_ratio: number; pause_ratio: number }): PointJudged {
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

function judgeTimeoutRate(b: number, c: number, ratio: number): PointJudged {
  const bound = b * ratio;
  if (c > 0 && atLeast(c, bound)) {
    return { verdict: "rollback", threshold: b === 0 ? "> 0 (baseline is 0)" : `≥ ${fmt(bound)} (baseline × ${fmt(ratio)})` };
  }
  return { verdict: "pass", threshold: b === 0 ? "= 0 (baseline is 0)" : `< ${fmt(bound)} (baseline × ${fmt(ratio)})` };
}

export function judgeRisk(c: number, maxEvents: number): PointJudged {
  return c > maxEvents ? { verdict: "stop", threshold: `> ${maxEvents} events` } : { verdict: "pass", threshold: `≤ ${maxEvents} events` };
}

/** Both sides' plain numbers under the policy (risk: see judgeRisk, which needs no baseline). */
export function judgePoint(metric: MetricName, policy: GatePolicy, b: number, c: number): PointJudged {
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
      return judgeRisk(c, policy.risk.max_events);
  }
}

/** "PII leaks: 1 event on the candidate over the rollout, more than 0 allowed: stop". */
export function riskSummary(metric: MetricName, c: number | undefined, maxEvents: number, verdict: string): string {
  const label = LABEL[metric];
  if (c === undefined) return `${label}: reported by the baseline only; the candidate's count decides: ${verdict}`;
  const allowed = c > maxEvents ? `more than the ${maxEvents} allowed` : `at most ${maxEvents} allowed`;
  return `${label}: ${metricValue(metric, c)} on the candidate over the rollout, ${allowed}: ${verdict}`;
}

/**
 * The sentence for a point reason, e.g. "p95 latency: candidate 940 ms vs baseline 900 ms
 * (plain numbers, no sample size), ≤ 990 (baseline × 1.1): pass".
 */
export function pointSummary(metric: MetricName, b: number | undefined, c: number | undefined, judged: { threshold: string | null; verdict: string }, why?: string): string {
  const label = LABEL[metric];
  if (b === undefined || c === undefined) {
    const side = b === undefined ? "baseline" : "candidate";
    return `${label}: ${why ?? `no value from the ${side} yet`}: ${judged.verdict}`;
  }
  const basis = why ?? "plain numbers, no sample size";
  return `${label}: candidate ${metricValue(metric, c)} vs baseline ${metricValue(metric, b)} (${basis}), ${judged.threshold}: ${judged.verdict}`;
}
