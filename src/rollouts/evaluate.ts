import type { Tx } from "../core/transaction.js";
import { analyse, schedule, type Analysis } from "./analysis/analyse.js";
import type { PooledSide } from "./analysis/pool.js";
import type { ScheduleOutcome } from "./analysis/schedule.js";
import { DEFAULT_GATE_POLICY, parseGatePolicy, type GatePolicy } from "./gate-policy.js";
import type { Decision } from "./gates.js";
import type { GatePolicyStore, ObservationStore, RolloutEnvironments, RolloutRecord } from "./ports.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { toPercent } from "./view.js";

/** Where the verdict's inputs come from: the policy, the observations and the percent history. */
export interface EvaluationSources {
  policies: GatePolicyStore;
  observations: ObservationStore;
  environments: Pick<RolloutEnvironments, "percentChanges">;
}

export interface Evaluation {
  policy: GatePolicy;
  decision: Decision;
  /** Each side's pooled values (samples over the current step, plain numbers, summed risk), with notes. */
  baseline: PooledSide;
  candidate: PooledSide;
  analysis: Analysis;
  /** Where the step stands and what the schedule would do now (a paused or ended rollout does nothing by itself). */
  schedule: ScheduleOutcome;
}

/** The environment's policy: the stored one (merged over the defaults, so new fields get theirs) or the defaults. */
export async function loadPolicy(policies: GatePolicyStore, key: EnvironmentKey, tx?: Tx): Promise<GatePolicy> {
  const stored = await policies.find(key, tx);
  return stored === undefined ? DEFAULT_GATE_POLICY : parseGatePolicy(stored);
}

/**
 * The gate's verdict on a rollout now (analysis/analyse.ts holds the rules): its observations
 * pooled per side — samples over the observations recorded since the current step began
 * (`step_started_at`), plain numbers the newest, risk and segment counts over the whole
 * rollout — judged under the environment's policy; the sample-ratio check at the percent in
 * force for each window (skipped with an allowlist); the schedule's next action. `tx` is the
 * caller's transaction when the verdict must agree with what that transaction is about to write.
 */
export async function evaluate(sources: EvaluationSources, rollout: RolloutRecord, tx?: Tx, now: Date = new Date()): Promise<Evaluation> {
  const key = { project: rollout.project, environment: rollout.environment };
  // Sequential: inside a transaction they run on its one connection anyway.
  const policy = await loadPolicy(sources.policies, key, tx);
  const observations = await sources.observations.ofRollout(rollout.project, rollout.id, tx);
  const percents = await sources.environments.percentChanges(rollout, tx);
  const percent = toPercent(rollout.basis_points);
  const analysis = analyse({
    policy,
    observations,
    percent,
    stepStartedAt: rollout.step_started_at,
    percents,
    allowlist: rollout.allow.length > 0,
  });
  const outcome = schedule(analysis, {
    policy,
    stepStartedAt: rollout.step_started_at,
    ...(rollout.resumed_at ? { resumedAt: rollout.resumed_at } : {}),
    now,
  });
  return { policy, decision: analysis.decision, baseline: analysis.baseline, candidate: analysis.candidate, analysis, schedule: outcome };
}

/** One line for a problem detail or a history reason: the action and the metrics that caused it. */
export function explain(decision: Decision): string {
  const worst = decision.reasons.filter((r) => r.verdict !== "pass");
  const why = worst.map((r) => `${r.metric} ${r.verdict}${r.threshold === null ? "" : ` (candidate ${r.candidate ?? "—"}, ${r.verdict === "no_data" ? "needs" : "rule"} ${r.threshold})`}`);
  return `the gate says ${decision.action} (signal ${decision.signal})${why.length > 0 ? `: ${why.join("; ")}` : ""}`;
}
