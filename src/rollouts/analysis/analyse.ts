/**
 * The whole judgment of a rollout from its observations, in one pure call — what the wiring
 * (evaluate.ts, the auto-advance loop, evidence) needs:
 *
 *   const analysis = analyse({
 *     policy,                         // loadPolicy(…)
 *     observations,                   // observations.ofRollout(…): newest first, rows as they are
 *     percent,                        // the rollout's percent now
 *     stepStartedAt,                  // when that percent took effect (pools the step's windows)
 *     percents,                       // the rollout's start and each percent change, oldest first
 *     allowlist,                      // the rollout's `allow` is not empty: no sample-ratio check
 *   });
 *   analysis.decision                 // GET …/rollout/decision, decision.json
 *   analysis.baseline / .candidate    // PooledSide: the values compared, with notes
 *   analysis.step, analysis.samples   // the step in force and its sample counts per side
 *   schedule(analysis, { policy, stepStartedAt, now })   // { next_action, bake_remaining_seconds, reason }
 *
 * The rows need `requests` and `segments` once the store keeps them (null or absent is fine).
 */
import { nextStep, stepAt, type FullStep, type GatePolicy } from "../gate-policy.js";
import { decide, type Decision, type SidePair } from "../gates.js";
import { trafficWindows, type PercentChange } from "./assignment-check.js";
import { poolSides, type PoolableObservation, type PooledSide } from "./pool.js";
import { nextAction, stepSamples, type ScheduleOutcome } from "./schedule.js";

export interface AnalyseInput {
  policy: GatePolicy;
  observations: readonly PoolableObservation[];
  percent: number;
  stepStartedAt?: Date;
  percents?: readonly PercentChange[];
  allowlist?: boolean;
}

export interface Analysis {
  decision: Decision;
  baseline: PooledSide;
  candidate: PooledSide;
  step: FullStep;
  samples: SidePair;
  percent: number;
}

export function analyse(input: AnalyseInput): Analysis {
  const { policy } = input;
  const { baseline, candidate } = poolSides(input.observations, input.stepStartedAt ? { since: input.stepStartedAt } : {});
  const step = stepAt(policy, input.percent);
  const traffic = input.allowlist ? undefined : trafficWindows(input.observations, input.percents ?? []);
  const decision = decide({
    policy,
    ...(baseline.metrics ? { baseline: baseline.metrics } : {}),
    ...(candidate.metrics ? { candidate: candidate.metrics } : {}),
    notes: { baseline: baseline.notes, candidate: candidate.notes },
    planned: Math.max(1, step.min_samples),
    ...(traffic ? { traffic } : {}),
    segments: candidate.segments,
  });
  return { decision, baseline, candidate, step, samples: stepSamples(baseline, candidate), percent: input.percent };
}

export function schedule(analysis: Analysis, context: { policy: GatePolicy; stepStartedAt: Date; resumedAt?: Date; now: Date }): ScheduleOutcome {
  return nextAction({
    step: analysis.step,
    stepStartedAt: context.stepStartedAt,
    ...(context.resumedAt ? { resumedAt: context.resumedAt } : {}),
    now: context.now,
    samples: analysis.samples,
    decision: analysis.decision,
    maxBakeFactor: context.policy.max_bake_factor,
    nextPercent: nextStep(context.policy, analysis.percent),
  });
}
