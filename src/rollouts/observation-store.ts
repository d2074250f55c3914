import type { Kysely } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { NewObservation, ObservationRecord, ObservationStore } from "./ports.js";

/** The rollout_observations table: what each side of a rollout measured, per window. */
export class KyselyObservationStore implements ObservationStore {
  constructor(private readonly db: Kysely<Database>) {}

  insert(tx: Tx, key: EnvironmentKey, row: NewObservation): Promise<ObservationRecord> {
    return queryOf(this.db, tx)
      .insertInto("rollout_observations")
      .values({
        project: key.project,
        id: row.id,
        environment: key.environment,
        rollout_id: row.rolloutId,
        version_set: row.versionSet,
        side: row.side,
        window_start: row.windowStart,
        window_end: row.windowEnd,
        metrics: JSON.stringify(row.metrics),
        requests: row.requests ?? null,
        segments: row.segments === undefined ? null : JSON.stringify(row.segments),
        sample_trace_ids: row.sampleTraceIds,
        source: row.source,
        queries: row.queries === null ? null : JSON.stringify(row.queries),
        created_by: row.createdBy,
        trace_id: row.traceId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  ofRollout(project: string, rolloutId: string, tx?: Tx): Promise<ObservationRecord[]> {
    return queryOf(this.db, tx)
      .selectFrom("rollout_observations")
      .selectAll()
      .where("project", "=", project)
      .where("rollout_id", "=", rolloutId)
      .orderBy("window_end", "desc")
      .orderBy("seq", "desc")
      .execute();
  }

  list(key: EnvironmentKey, options: { before?: number; limit: number; rolloutId?: string }): Promise<ObservationRecord[]> {
    let q = this.db
      .selectFrom("rollout_observations")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .orderBy("seq", "desc")
      .limit(options.limit);
    if (options.rolloutId !== undefined) q = q.where("rollout_id", "=", options.rolloutId);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  async candidateTraceIds(project: string, rolloutId: string, tx?: Tx): Promise<string[]> {
    const rows = await queryOf(this.db, tx)
      .selectFrom("rollout_observations")
      .select("sample_trace_ids")
      .where("project", "=", project)
      .where("rollout_id", "=", rolloutId)
      .where("side", "=", "candidate")
      .orderBy("seq")
      .execute();
    return [...new Set(rows.flatMap((r) => r.sample_trace_ids))];
  }
}
