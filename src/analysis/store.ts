import { sql, type Kysely } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Database } from "../db/schema.js";
import type { AnalysisErrorRecord } from "./evaluate.js";


export interface AnalysisConfigRow {
  project: string;
  environment: string;
  config: unknown;
  updated_by: string | null;
  updated_at: Date;
  last_rollout: string | null;
  last_window_end: Date | null;
  consecutive_errors: number;
}

/** An environment with an analysis config and a running rollout: a candidate for the loop. */
export interface AnalysedRollout {
  project: string;
  environment: string;
  config: unknown;
  last_rollout: string | null;
  last_window_end: Date | null;
  rollout_id: string;
  stable: string;
  candidate: string;
  rollout_started_at: Date;
}

/** Where the loop's claim stood when it was read: the compare half of compare-and-set. */
export interface ClaimSeen {
  lastRollout: string | null;
  lastWindowEnd: Date | null;
}

export interface NewRun {
  rolloutId: string;
  windowStart: Date;
  windowEnd: Date;
  status: "ok" | "partial" | "failed";
  durationMs: number;
  errors: AnalysisErrorRecord[];
  warnings: string[];
  notes: string[];
  observations: Record<string, string>;
  action: string | null;
}

export interface AnalysisRunRow {
  seq: number;
  project: string;
  environment: string;
  rollout_id: string;
  window_start: Date;
  window_end: Date;
  status: "ok" | "partial" | "failed";
  duration_ms: number;
  errors: unknown[];
  warnings: string[];
  notes: string[];
  observations: Record<string, string>;
  action: string | null;
  created_at: Date;
}

/**
 * Runs kept per environment: a day and more at the shortest sensible interval (60 s), weeks at
 * the default queries' pace. seq is global, so this keeps at most, not exactly, that many.
 */
export const RUNS_KEPT = 2_000;

/** The analysis_configs and analysis_runs tables. */
export class AnalysisStore {
  constructor(private readonly db: Kysely<Database>) {}

  config(key: EnvironmentKey, db: Kysely<Database> = this.db): Promise<AnalysisConfigRow | undefined> {
    return db.selectFrom("analysis_configs").selectAll().where("project", "=", key.project).where("environment", "=", key.environment).executeTakeFirst();
  }

  /** Inserts or replaces the config; the loop's claim and error count stay as they are. */
  async saveConfig(trx: Kysely<Database>, key: EnvironmentKey, stored: unknown, by: string): Promise<void> {
    const config = JSON.stringify(stored);
    await trx
      .insertInto("analysis_configs")
      .values({ project: key.project, environment: key.environment, config, updated_by: by })
      .onConflict((oc) => oc.columns(["project", "environment"]).doUpdateSet({ config, updated_by: by, updated_at: sql`clock_timestamp()` }))
      .execute();
  }

  async deleteConfig(trx: Kysely<Database>, key: EnvironmentKey): Promise<boolean> {
    const result = await trx.deleteFrom("analysis_configs").where("project", "=", key.project).where("environment", "=", key.environment).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Every environment with a config and a running rollout (paused rollouts are not read). */
  analysedRollouts(limit: number): Promise<AnalysedRollout[]> {
    return this.db
      .selectFrom("analysis_configs as c")
      .innerJoin("rollouts as r", (join) => join.onRef("r.project", "=", "c.project").onRef("r.environment", "=", "c.environment"))
      .where("r.state", "=", "running")
      .select([
        "c.project",
        "c.environment",
        "c.config",
        "c.last_rollout",
        "c.last_window_end",
        "r.id as rollout_id",
        "r.stable",
        "r.candidate",
        "r.created_at as rollout_started_at",
      ])
      .orderBy("c.project")
      .orderBy("c.environment")
      .limit(limit)
      .execute();
  }

  /**
   * Moves the claim from `seen` to (rollout, windowEnd) if nobody moved it since it was read:
   * true for exactly one of any number of instances racing for the same window. A new rollout
   * starts its error count at zero.
   */
  async claim(key: EnvironmentKey, seen: ClaimSeen, next: { rolloutId: string; windowEnd: Date }): Promise<boolean> {
    const result = await this.db
      .updateTable("analysis_configs")
      .set({
        last_rollout: next.rolloutId,
        last_window_end: next.windowEnd,
        consecutive_errors: seen.lastRollout === next.rolloutId ? sql<number>`consecutive_errors` : 0,
      })
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where(sql<boolean>`last_rollout is not distinct from ${seen.lastRollout}`)
      .where(sql<boolean>`last_window_end is not distinct from ${seen.lastWindowEnd}`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Counts a run of `rolloutId` (an error run adds one, a clean run resets); the new count, or undefined when the config went away. */
  async countRun(key: EnvironmentKey, rolloutId: string, failed: boolean): Promise<number | undefined> {
    const row = await this.db
      .updateTable("analysis_configs")
      .set({ consecutive_errors: failed ? sql<number>`consecutive_errors + 1` : 0 })
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("last_rollout", "=", rolloutId)
      .returning("consecutive_errors")
      .executeTakeFirst();
    return row?.consecutive_errors;
  }

  /** Records a run and forgets the environment's runs beyond the most recent RUNS_KEPT. */
  async insertRun(key: EnvironmentKey, run: NewRun): Promise<AnalysisRunRow> {
    const row = await this.db
      .insertInto("analysis_runs")
      .values({
        project: key.project,
        environment: key.environment,
        rollout_id: run.rolloutId,
        window_start: run.windowStart,
        window_end: run.windowEnd,
        status: run.status,
        duration_ms: Math.max(0, Math.round(run.durationMs)),
        errors: JSON.stringify(run.errors),
        warnings: JSON.stringify(run.warnings),
        notes: JSON.stringify(run.notes),
        observations: JSON.stringify(run.observations),
        action: run.action,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await this.db
      .deleteFrom("analysis_runs")
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("seq", "<=", row.seq - RUNS_KEPT)
      .execute();
    return row;
  }

  /** Runs of an environment, most recent first. */
  runs(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<AnalysisRunRow[]> {
    let q = this.db
      .selectFrom("analysis_runs")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .orderBy("seq", "desc")
      .limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }
}
