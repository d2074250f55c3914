/**
 * The sequential judgment of one metric when both sides have samples. Pure. Each judge returns
 * the reason's body (gates.ts): the point values as `baseline` / `candidate`, the always-valid
 * interval (confidence-sequence.ts), the verdict from the bands (bands.ts), `needed` when
 * inconclusive, and the summary sentence.
 *
 *   rates (quality.*)        candidate − baseline in absolute points. Variance from smoothed
 *                            proportions p̃ = (k + 1)/(n + 2) (Agresti & Caffo 2000), so 0 or n
 *                            events still give a sane interval: v = p̃c(1−p̃c)/nc + p̃b(1−p̃b)/nb;
 *                            centred on the raw difference kc/nc − kb/nb.
 *   latency.timeout_rate     the line is c ≥ k·b (k = timeout_rate_ratio): judge D = c − k·b,
 *                            v = p̃c(1−p̃c)/nc + k²·p̃b(1−p̃b)/nb. Rollback when the whole interval is
 *                            ≥ 0; otherwise pass — proven under the line when the whole interval
 *                            is < 0, "not shown to reach it" when it straddles 0. The timeout
 *                            line has no hold band to prove "no harm" against, and proving
 *                            c < 2b when c = b needs ≈ 10/b candidate trials against a large
 *                            baseline, 46/b per side with equal sides (b = 0.1 %: 10 000–46 000;
 *                            b = 0: never), so requiring it would block every healthy rollout of
 *                            a service that rarely times out. As the point gate, it only rolls back.
 *   cost.tokens_per_request  the ratio of means, by the delta method on the log ratio:
 *                            v = sc²/(nc·mc²) + sb²/(nb·mb²), interval exp(ln(mc/mb) ± radius).
 *   latency.p95_ms           quantile-ratio.ts.
 * α = 1 − policy.confidence per metric; the radius is tuned for `planned` (the step's
 * min_samples) as the effective sample size 1/(1/nb + 1/nc).
 */
import type { GatePolicy } from "../gate-policy.js";
import type { Reason } from "../reason.js";
import type { MetricName } from "../metric-names.js";
import { bandPhrase, bandThreshold, bandVerdict, neededTrials, type LineWords, type Needed } from "./bands.js";
import { effectiveSize, radius, type SequenceOptions } from "./confidence-sequence.js";
import { count, fmt, LABEL, level, MINUS, percent, points, ratio } from "./format.js";
import type { MeanSample, RateSample } from "./samples.js";

export type ReasonBody = Omit<Reason, "metric">;

export interface SequentialContext {
  policy: GatePolicy;
  /** The effective sample size the intervals are tightest at (the step's min_samples). */
  planned: number;
}

export function sequenceOf(ctx: SequentialContext, alpha = 1 - ctx.policy.confidence): SequenceOptions {
  return { alpha, planned: ctx.planned };
}

export function noDataBody(metric: MetricName, why: string, values: { baseline?: number; candidate?: number } = {}): ReasonBody {
  return {
    baseline: values.baseline ?? null,
    candidate: values.candidate ?? null,
    threshold: null,
    verdict: "no_data",
    method: "sequential",
    interval: null,
    confidence: null,
    samples: null,
    needed: null,
    summary: `${LABEL[metric]}: ${why}: no_data`,
  };
}

export function neededText(needed: Needed | null, unit: string): string {
  if (needed === null) return "; more samples alone may not settle it (the estimate sits at the line)";
  return `; about ${count(needed.candidate)} more candidate and ${count(needed.baseline)} more baseline ${unit} would settle it`;
}

const smoothedVariance = (s: RateSample) => {
  const p = (s.count + 1) / (s.trials + 2);
  return (p * (1 - p)) / s.trials;
};

const RATE_WORDS: LineWords = {
  show: (drop) => points(-drop, { plus: false, trim: true }),
  value: (drop) => (drop === 0 ? "0" : `${MINUS}${fmt(drop)}`),
  worse: "below",
};

export function judgeRateDifference(metric: MetricName, b: RateSample, c: RateSample, ctx: SequentialContext): ReasonBody {
  if (b.trials === 0 || c.trials === 0) return noDataBody(metric, `no trials yet on the ${b.trials === 0 ? "baseline" : "candidate"} side`);
  const pb = b.count / b.trials;
  const pc = c.count / c.trials;
  const estimate = pc - pb;
  const n = effectiveSize(b.trials, c.trials);
  const sequence = sequenceOf(ctx);
  const r = radius(smoothedVariance(c) + smoothedVariance(b), n, sequence);
  const lo = Math.max(-1, estimate - r);
  const hi = Math.min(1, estimate + r);
  const q = ctx.policy.quality;
  const lines = { pass: q.pass_drop, hold: q.hold_drop, pause: q.pause_drop };
  const verdict = bandVerdict(-hi, -lo, lines);
  const needed = verdict === "inconclusive"
    ? neededTrials({ estimate, lo: estimate - r, hi: estimate + r, line: -q.hold_drop, n, sizes: { baseline: b.trials, candidate: c.trials }, sequence })
    : null;
  const summary =
    `${LABEL[metric]}: candidate ${percent(pc)} vs baseline ${percent(pb)} (n = ${count(c.trials)} / ${count(b.trials)}), ` +
    `difference ${points(estimate)}, ${level(ctx.policy.confidence)} interval ${points(lo, { unit: false })} … ${points(hi)}, ` +
    `${bandPhrase(verdict, lines, RATE_WORDS)}: ${verdict}${verdict === "inconclusive" ? neededText(needed, "trials") : ""}`;
  return {
    baseline: pb,
    candidate: pc,
    threshold: bandThreshold(verdict, lines, RATE_WORDS),
    verdict,
    method: "sequential",
    interval: { low: lo, high: hi },
    confidence: ctx.policy.confidence,
    samples: { baseline: b.trials, candidate: c.trials },
    needed,
    summary,
  };
}

export function judgeTimeoutRate(b: RateSample, c: RateSample, ctx: SequentialContext): ReasonBody {
  const metric = "latency.timeout_rate";
  if (b.trials === 0 || c.trials === 0) return noDataBody(metric, `no trials yet on the ${b.trials === 0 ? "baseline" : "candidate"} side`);
  const k = ctx.policy.latency.timeout_rate_ratio;
  const pb = b.count / b.trials;
  const pc = c.count / c.trials;
  const estimate = pc - k * pb;
  const r = radius(smoothedVariance(c) + k * k * smoothedVariance(b), effectiveSize(b.trials, c.trials), sequenceOf(ctx));
  const lo = estimate - r;
  const hi = estimate + r;
  const rollback = lo >= -1e-12;
  const verdict = rollback ? "rollback" : "pass";
  const phrase = rollback
    ? `wholly ≥ 0: the candidate times out at least ${fmt(k)} × as often as the baseline`
    : hi < 0
      ? `wholly < 0: under ${fmt(k)} × the baseline`
      : `not shown to reach ${fmt(k)} × the baseline (this line rolls back on evidence only)`;
  return {
    baseline: pb,
    candidate: pc,
    threshold: rollback ? `whole interval of candidate − ${fmt(k)} × baseline ≥ 0` : `interval of candidate − ${fmt(k)} × baseline not wholly ≥ 0`,
    verdict,
    method: "sequential",
    interval: { low: lo, high: hi },
    confidence: ctx.policy.confidence,
    samples: { baseline: b.trials, candidate: c.trials },
    needed: null,
    summary:
      `timeout rate: candidate ${percent(pc)} vs baseline ${percent(pb)} (n = ${count(c.trials)} / ${count(b.trials)}), ` +
      `candidate − ${fmt(k)} × baseline ${points(estimate)}, ${level(ctx.policy.confidence)} interval ${points(lo, { unit: false })} … ${points(hi)}, ${phrase}: ${verdict}`,
  };
}

export const RATIO_WORDS: LineWords = { show: (x) => `× ${fmt(x)}`, value: (x) => fmt(x), worse: "above" };

/** Ratio lines of the latency or cost section. */
export const ratioLines = (r: { pass_ratio: number; hold_ratio: number; pause_ratio: number }) => ({ pass: r.pass_ratio, hold: r.hold_ratio, pause: r.pause_ratio });

/** undefined when a mean is 0 (no ratio to take a log of): the caller compares points instead. */
export function judgeMeanRatio(b: MeanSample, c: MeanSample, ctx: SequentialContext): ReasonBody | undefined {
  if (!(b.mean > 0 && c.mean > 0)) return undefined;
  const estimate = Math.log(c.mean / b.mean);
  const v = (c.stddev / c.mean) ** 2 / c.count + (b.stddev / b.mean) ** 2 / b.count;
  const n = effectiveSize(b.count, c.count);
  const sequence = sequenceOf(ctx);
  const r = radius(v, n, sequence);
  const lo = Math.exp(estimate - r);
  const hi = Math.exp(estimate + r);
  const lines = ratioLines(ctx.policy.cost);
  const verdict = bandVerdict(lo, hi, lines);
  const needed = verdict === "inconclusive"
    ? neededTrials({ estimate, lo: estimate - r, hi: estimate + r, line: Math.log(lines.hold), n, sizes: { baseline: b.count, candidate: c.count }, sequence })
    : null;
  return {
    baseline: b.mean,
    candidate: c.mean,
    threshold: bandThreshold(verdict, lines, RATIO_WORDS),
    verdict,
    method: "sequential",
    interval: { low: lo, high: hi },
    confidence: ctx.policy.confidence,
    samples: { baseline: b.count, candidate: c.count },
    needed,
    summary:
      `tokens per request: candidate ${count(c.mean)} tokens vs baseline ${count(b.mean)} tokens (n = ${count(c.count)} / ${count(b.count)}), ` +
      `ratio ${ratio(Math.exp(estimate))}, ${level(ctx.policy.confidence)} interval ${ratio(lo)} … ${ratio(hi)}, ` +
      `${bandPhrase(verdict, lines, RATIO_WORDS)}: ${verdict}${verdict === "inconclusive" ? neededText(needed, "requests") : ""}`,
  };
}
