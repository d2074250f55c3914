import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { DEFAULT_GATE_POLICY, parseGatePolicy, type GatePolicy } from "./gate-policy.js";
import { decide, type Decision } from "./gates.js";
import { observedSides, type ObservedSide } from "./observed.js";
import type { EnvironmentKey, RolloutRow, RolloutStore } from "./store.js";

export interface Evaluation {
  policy: GatePolicy;
  decision: Decision;
  baseline: ObservedSide;
  candidate: ObservedSide;
}

/** The environment's policy: the stored one (merged over the defaults, so new fields get theirs) or the defaults. */
export async function loadPolicy(store: RolloutStore, key: EnvironmentKey, db?: Kysely<Database>): Promise<GatePolicy> {
  const stored = await store.policy(key, db);
  return stored === undefined ? DEFAULT_GATE_POLICY : parseGatePolicy(stored);
}

/**
 * The gate's verdict on a rollout now: its observations (see observed.ts for which values
 * count) judged under the environment's policy. `db` is the caller's transaction when the
 * verdict must agree with what that transaction is about to write.
 */
export async function evaluate(store: RolloutStore, rollout: RolloutRow, db?: Kysely<Database>): Promise<Evaluation> {
  const key = { project: rollout.project, environment: rollout.environment };
  // Sequential: inside a transaction both run on its one connection anyway.
  const policy = await loadPolicy(store, key, db);
  const observations = await store.observationsOf(rollout.project, rollout.id, db);
  const sides = observedSides(observations);
  const decision = decide({
    policy,
    ...(sides.baseline.metrics ? { baseline: sides.baseline.metrics } : {}),
    ...(sides.candidate.metrics ? { candidate: sides.candidate.metrics } : {}),
  });
  return { policy, decision, ...sides };
}

/** One line for a problem detail or a history reason: the action and the metrics that caused it. */
export function explain(decision: Decision): string {
  const worst = decision.reasons.filter((r) => r.verdict !== "pass");
  const why = worst.map((r) => `${r.metric} ${r.verdict}${r.threshold === null ? "" : ` (candidate ${r.candidate ?? "—"}, ${r.verdict === "no_data" ? "needs" : "rule"} ${r.threshold})`}`);
  return `the gate says ${decision.action} (signal ${decision.signal})${why.length > 0 ? `: ${why.join("; ")}` : ""}`;
}
