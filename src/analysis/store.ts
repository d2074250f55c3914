import { sql, type Kysely } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import { RUNS_KEPT, type AnalysisConfigRecord, type AnalysisRunRecord, type AnalysisStore, type ClaimSeen, type NewRun } from "./ports.js";

/** The analysis_configs and analysis_runs tables. */
export class KyselyAnalysisStore implements AnalysisStore {
  constructor(private readonly db: Kysely<Database>) {}

  config(key: EnvironmentKey, tx?: Tx): Promise<AnalysisConfigRecord | undefined> {
    return queryOf(this.db, tx).selectFrom("analysis_configs").selectAll().where("project", "=", key.project).where("environment", "=", key.environment).executeTakeFirst();
  }

  async saveConfig(tx: Tx, key: EnvironmentKey, stored: unknown, by: string): Promise<void> {
    const config = JSON.stringify(stored);
    await queryOf(this.db, tx)
      .insertInto("analysis_configs")
      .values({ project: key.project, environment: key.environment, config, updated_by: by })
      .onConflict((oc) => oc.columns(["project", "environment"]).doUpdateSet({ config, updated_by: by, updated_at: sql`clock_timestamp()` }))
      .execute();
  }

  async deleteConfig(tx: Tx, key: EnvironmentKey): Promise<boolean> {
    const result = await queryOf(this.db, tx).deleteFrom("analysis_configs").where("project", "=", key.project).where("environment", "=", key.environment).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  configsOf(keys: readonly EnvironmentKey[], limit: number): Promise<AnalysisConfigRecord[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom("analysis_configs")
      .selectAll()
      .where((eb) => eb.or(keys.map((k) => eb.and([eb("project", "=", k.project), eb("environment", "=", k.environment)]))))
      .orderBy("project")
      .orderBy("environment")
      .limit(limit)
      .execute();
  }

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

  async insertRun(key: EnvironmentKey, run: NewRun): Promise<AnalysisRunRecord> {
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

  runs(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<AnalysisRunRecord[]> {
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
