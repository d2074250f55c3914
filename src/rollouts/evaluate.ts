import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { analyse, schedule, type Analysis } from "./analysis/analyse.js";
import type { PooledSide } from "./analysis/pool.js";
import type { ScheduleOutcome } from "./analysis/schedule.js";
import { DEFAULT_GATE_POLICY, parseGatePolicy, type GatePolicy } from "./gate-policy.js";
import type { Decision } from "./gates.js";
import type { RolloutRow, RolloutStore } from "./store.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { toPercent } from "./view.js";

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
export async function loadPolicy(store: RolloutStore, key: EnvironmentKey, db?: Kysely<Database>): Promise<GatePolicy> {
  const stored = await store.policy(key, db);
  return stored === undefined ? DEFAULT_GATE_POLICY : parseGatePolicy(stored);
}

/**
 * The gate's verdict on a rollout now (analysis/analyse.ts holds the rules): its observations
 * pooled per side — samples over the observations recorded since the current step began
 * (`step_started_at`), plain numbers the newest, risk and segment counts over the whole
 * rollout — judged under the environment's policy; the sample-ratio check at the percent in
 * force for each window (skipped with an allowlist); the schedule's next action. `db` is the
 * caller's transaction when the verdict must agree with what that transaction is about to write.
 */
export async function evaluate(store: RolloutStore, rollout: RolloutRow, db?: Kysely<Database>, now: Date = new Date()): Promise<Evaluation> {
  const key = { project: rollout.project, environment: rollout.environment };
  // Sequential: inside a transaction they run on its one connection anyway.
  const policy = await loadPolicy(store, key, db);
  const observations = await store.observationsOf(rollout.project, rollout.id, db);
  const percents = await store.percentChanges(rollout, db);
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
