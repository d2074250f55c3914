/**
 * The schedule that advances itself: given where a running rollout's step stands and what the
 * gate says, the next action. Pure; the background loop (wiring) calls it for each running
 * `auto` rollout and carries the action out (a paused rollout waits for a person).
 *
 *   stepSamples(baseline, candidate)  the step's sample count per side (pool over the step's
 *                                     windows first: poolSides(…, { since: step start }))
 *   nextAction({ step, stepStartedAt, now, samples, decision, maxBakeFactor, nextPercent })
 *     → { next_action, bake_remaining_seconds, reason }
 *
 * Rules, first match wins:
 *   1. the gate says stop / rollback / pause          → that, at once (no waiting for the bake)
 *   2. the step has not baked (now − start < bake)    → hold ("baking")
 *   3. a side has fewer than min_samples              → hold ("waiting for samples"), and once
 *      max_bake_factor × bake has passed (since the  → pause ("not enough traffic"); a step
 *      step began, or since the latest resume)
 *                                                       with bake 0 never pauses for traffic
 *   4. the gate says advance                          → advance (to the next step; at the last
 *                                                       step before 100 that promotes)
 *   5. otherwise (hold, inconclusive, no data)        → hold, with the gate's reason
 * A step's sample count per side is the smallest count among the metrics both sides report in
 * sample form (every judged metric must have its minimum); with no such metric, the requests
 * the side reported in the step; with neither, 0 — plain numbers carry no sample size, so a
 * rollout fed only plain numbers never advances by itself (it pauses for "not enough traffic").
 */
import type { FullStep } from "../gate-policy.js";
import type { Decision, SidePair } from "../gates.js";
import { METRIC_NAMES } from "../metric-names.js";
import { count } from "./format.js";
import type { PooledSide } from "./pool.js";
import { isSample, sampleSize } from "./samples.js";

export type NextAction = "advance" | "hold" | "pause" | "rollback" | "stop";

export interface ScheduleOutcome {
  next_action: NextAction;
  bake_remaining_seconds: number;
  reason: string;
}

export function stepSamples(baseline: Pick<PooledSide, "metrics" | "requests">, candidate: Pick<PooledSide, "metrics" | "requests">): SidePair {
  let b: number | undefined;
  let c: number | undefined;
  for (const name of METRIC_NAMES) {
    const bv = baseline.metrics?.[name];
    const cv = candidate.metrics?.[name];
    if (!isSample(bv) || !isSample(cv)) continue;
    b = Math.min(b ?? Number.POSITIVE_INFINITY, sampleSize(bv));
    c = Math.min(c ?? Number.POSITIVE_INFINITY, sampleSize(cv));
  }
  return { baseline: b ?? baseline.requests ?? 0, candidate: c ?? candidate.requests ?? 0 };
}

/** "6 h", "1 h 30 min", "45 s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

export interface ScheduleInput {
  step: FullStep;
  stepStartedAt: Date;
  /**
   * The rollout's latest resume, if any: the "not enough traffic" deadline counts from the later
   * of this and the step's start, so a person who resumes a step paused for traffic gives it
   * another max_bake_factor × bake (the bake itself still counts from the step's start).
   */
  resumedAt?: Date;
  now: Date;
  samples: SidePair;
  decision: Pick<Decision, "action" | "signal">;
  maxBakeFactor: number;
  /** The percent an advance goes to (nextStep), for the reason; undefined at the last step. */
  nextPercent?: number | undefined;
}

export function nextAction(input: ScheduleInput): ScheduleOutcome {
  const { step, decision, samples } = input;
  const elapsed = Math.max(0, (input.now.getTime() - input.stepStartedAt.getTime()) / 1000);
  const remaining = Math.max(0, Math.ceil(step.bake_seconds - elapsed));
  const out = (next_action: NextAction, reason: string): ScheduleOutcome => ({ next_action, bake_remaining_seconds: remaining, reason });
  const gate = `the gate says ${decision.action} (signal ${decision.signal})`;

  if (decision.action === "stop" || decision.action === "rollback" || decision.action === "pause") return out(decision.action, gate);
  const counts = `baseline ${count(samples.baseline)} / ${count(step.min_samples)}, candidate ${count(samples.candidate)} / ${count(step.min_samples)}`;
  if (remaining > 0) return out("hold", `baking: ${duration(remaining)} of the step's ${duration(step.bake_seconds)} remain (samples: ${counts}); ${gate}`);
  if (samples.baseline < step.min_samples || samples.candidate < step.min_samples) {
    const deadline = input.maxBakeFactor * step.bake_seconds;
    const clock = input.resumedAt && input.resumedAt.getTime() > input.stepStartedAt.getTime() ? input.resumedAt : input.stepStartedAt;
    const waited = Math.max(0, (input.now.getTime() - clock.getTime()) / 1000);
    if (step.bake_seconds > 0 && waited >= deadline) {
      return out("pause", `not enough traffic: after ${duration(waited)} (${input.maxBakeFactor} × the ${duration(step.bake_seconds)} bake) the step has ${counts} samples`);
    }
    return out("hold", `baked; waiting for samples: ${counts}${step.bake_seconds > 0 ? ` (pauses for lack of traffic after ${duration(deadline)})` : ""}`);
  }
  if (decision.action === "advance") {
    const to = input.nextPercent === undefined ? "" : input.nextPercent >= 100 ? " → 100 % (promote)" : ` → ${input.nextPercent} %`;
    return out("advance", `baked ${duration(elapsed)}, samples ${counts}, ${gate}${to}`);
  }
  return out("hold", `baked, samples ${counts}; ${gate}`);
}
