import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { EnvironmentView } from "./service.js";
import type { EnvironmentRecord as EnvironmentRow, HistoryRecord as HistoryRow } from "./ports.js";

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

/** The fields of a rollout that never change after it starts. */
interface RolloutFixed {
  id: string;
  environment: string;
  stable: string;
  candidate: string;
  allow: string[];
  auto: boolean;
  created_at: Date;
}

/**
 * The rollout JSON of GET …/rollout (rollouts/view.ts presentRollout) as of one step. Built
 * here from the row's fixed fields so this module reads the rollouts table without depending
 * on the rollouts engine.
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
 * Up to `limit` states after revision `after`, oldest first: one query for the entries, one for
 * the state just before them (last freeze/unfreeze and last rollout step), one for the rollouts
 * they name.
 */
export async function statesAfter(db: Kysely<Database>, env: EnvironmentRow, after: number, limit: number): Promise<PastState[]> {
  const history = db.selectFrom("environment_history").selectAll().where("project", "=", env.project).where("environment", "=", env.name);
  const rows = await history.where("revision", ">", after).orderBy("revision", "asc").limit(limit).execute();
  if (rows.length === 0) return [];
  const lastBefore = (actions: readonly string[]) =>
    history.where("revision", "<=", after).where("action", "in", actions).orderBy("revision", "desc").limit(1).executeTakeFirst();
  const freezeRow = await lastBefore(FREEZE_ACTIONS);
  const rolloutRow = await lastBefore(ROLLOUT_ACTIONS);

  let frozen = freezeRow?.action === "freeze";
  let rollout = rolloutRow ? stepRollout(null, rolloutRow) : null;
  const ids = new Set<string>(rollout ? [rollout.id] : []);
  for (const row of rows) {
    const id = detailOf(row).rollout;
    if ((ROLLOUT_ACTIONS as readonly string[]).includes(row.action) && typeof id === "string") ids.add(id);
  }
  const rollouts = new Map<string, RolloutFixed>();
  if (ids.size > 0) {
    const found = await sql<RolloutFixed>`
      select id, environment, stable, candidate, allow, auto, created_at from rollouts
      where project = ${env.project} and id in (${sql.join([...ids])})`.execute(db);
    for (const r of found.rows) rollouts.set(r.id, r);
  }

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
