import type { EnvironmentRecord, EnvironmentStore, HistoryRecord as HistoryRow, PastRolloutReader, RolloutFixedFields as RolloutFixed } from "./ports.js";
import type { EnvironmentView } from "./present.js";

/**
 * The environment JSON as of past revisions, rebuilt from `environment_history` for the watch
 * replay (`Last-Event-ID`). Exact for what revisions change: `active`, `revision`,
 * `updated_at` (the entry's `at`), `frozen` (freeze/unfreeze entries) and `rollout` (the rollout
 * steps' entries, over the rollout's fixed fields). Not versioned, so given as they are now:
 * `protected`, `created_at`; a rebuilt rollout lists no evidence packs.
 */
export interface PastState {
  revision: number;
  view: EnvironmentView;
}

const ROLLOUT_ACTIONS = ["rollout_start", "advance", "promote", "pause", "resume", "abort"] as const;
const FREEZE_ACTIONS = ["freeze", "unfreeze"] as const;

interface LiveRollout {
  id: string;
  percent: number;
  state: "running" | "paused";
  revision: number;
  at: Date;
}

/**
 * The rollout JSON of GET …/rollout (rollouts/view.ts presentRollout) as of one step. Built
 * here from the rollout's fixed fields so this module does not depend on the rollouts engine.
 */
function presentPastRollout(fixed: RolloutFixed, step: LiveRollout): object {
  return {
    id: fixed.id,
    environment: fixed.environment,
    stable: fixed.stable,
    candidate: fixed.candidate,
    percent: step.percent,
    allow: [...fixed.allow],
    state: step.state,
    auto: fixed.auto,
    revision: step.revision,
    created_at: new Date(fixed.created_at).toISOString(),
    updated_at: step.at.toISOString(),
    ended_at: null,
    evidence: [],
  };
}

function detailOf(row: HistoryRow): Record<string, unknown> {
  const d = row.detail;
  if (typeof d === "string") return JSON.parse(d) as Record<string, unknown>;
  return d && typeof d === "object" ? (d as Record<string, unknown>) : {};
}

/** The live rollout after a rollout step, given the one before it (null: none live). */
function stepRollout(before: LiveRollout | null, row: HistoryRow): LiveRollout | null {
  const detail = detailOf(row);
  const id = typeof detail.rollout === "string" ? detail.rollout : before?.id;
  if (!id) return before;
  const percent = (key: string) => (typeof detail[key] === "number" ? (detail[key] as number) : (before?.percent ?? 0));
  const step = { id, revision: row.revision, at: row.at };
  switch (row.action) {
    case "rollout_start":
      return { ...step, percent: percent("percent"), state: "running" };
    case "advance":
      return { ...step, percent: percent("to_percent"), state: before?.state ?? "running" };
    case "pause":
      return { ...step, percent: percent("percent"), state: "paused" };
    case "resume":
      return { ...step, percent: percent("percent"), state: "running" };
    default:
      // promote and abort end the rollout: the environment shows none.
      return null;
  }
}

/**
 * Up to `limit` states after revision `after`, oldest first: one read for the entries, one each
 * for the state just before them (last freeze/unfreeze and last rollout step), one for the
 * rollouts they name.
 */
export async function statesAfter(
  deps: { store: Pick<EnvironmentStore, "historyAfter" | "lastOf">; rollouts: PastRolloutReader },
  env: EnvironmentRecord,
  after: number,
  limit: number,
): Promise<PastState[]> {
  const key = { project: env.project, environment: env.name };
  const rows = await deps.store.historyAfter(key, after, limit);
  if (rows.length === 0) return [];
  const freezeRow = await deps.store.lastOf(key, after, FREEZE_ACTIONS);
  const rolloutRow = await deps.store.lastOf(key, after, ROLLOUT_ACTIONS);

  let frozen = freezeRow?.action === "freeze";
  let rollout = rolloutRow ? stepRollout(null, rolloutRow) : null;
  const ids = new Set<string>(rollout ? [rollout.id] : []);
  for (const row of rows) {
    const id = detailOf(row).rollout;
    if ((ROLLOUT_ACTIONS as readonly string[]).includes(row.action) && typeof id === "string") ids.add(id);
  }
  const rollouts = new Map<string, RolloutFixed>();
  if (ids.size > 0) for (const r of await deps.rollouts.fixedOf(env.project, [...ids])) rollouts.set(r.id, r);

  return rows.map((row) => {
    if (row.action === "freeze") frozen = true;
    if (row.action === "unfreeze") frozen = false;
    if ((ROLLOUT_ACTIONS as readonly string[]).includes(row.action)) rollout = stepRollout(rollout, row);
    const fixed = rollout ? rollouts.get(rollout.id) : undefined;
    return {
      revision: row.revision,
      view: {
        name: env.name,
        active: row.version_set,
        revision: row.revision,
        updated_at: row.at.toISOString(),
        protected: env.protected,
        frozen,
        fallback: env.fallback,
        rollout: rollout && fixed ? presentPastRollout(fixed, rollout) : null,
        created_at: env.created_at.toISOString(),
      },
    };
  });
}
