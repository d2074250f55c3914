import type { Decision } from "../rollouts/gates.js";
import type { RolloutGaugeInput, RolloutMetricsSource, RolloutState } from "./rollout-metrics.js";

/** Environments shown per scrape at most: /metrics must stay cheap whatever the registry holds. */
const MAX_ENVIRONMENTS = 1_000;
/** An ended rollout stays on the dashboard this long (its final state and percent). */
const ENDED_SHOWN_MS = 60 * 60_000;

/**
 * What /metrics says about rollouts: each environment's live rollout, or the one that ended in
 * the last hour, with the gate's decision for live ones. Read once per scrape.
 */
export function rolloutGaugeSource(deps: {
  rollouts: {
    recentPerEnvironment(endedAfter: Date, limit: number): Promise<Array<{ project: string; environment: string; id: string; state: RolloutState; basis_points: number; stable: string; candidate: string }>>;
  };
  decision: (key: { project: string; environment: string }) => Promise<Pick<Decision, "signal" | "reasons">>;
}): RolloutMetricsSource {
  return async () => {
    const since = new Date(Date.now() - ENDED_SHOWN_MS);
    const rows = await deps.rollouts.recentPerEnvironment(since, MAX_ENVIRONMENTS);
    const inputs: RolloutGaugeInput[] = [];
    for (const row of rows) {
      const live = row.state === "running" || row.state === "paused";
      const decision = live ? await deps.decision({ project: row.project, environment: row.environment }).catch(() => undefined) : undefined;
      inputs.push({
        project: row.project,
        environment: row.environment,
        rollout: { id: row.id, state: row.state, percent: row.basis_points / 100, stable: row.stable, candidate: row.candidate },
        ...(decision ? { decision } : {}),
      });
    }
    return inputs;
  };
}
