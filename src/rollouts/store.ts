import { sql, type Kysely } from "kysely";
import { ConflictError } from "../core/errors.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import {
  LIVE_STATES,
  StaleRolloutError,
  type NewRollout,
  type RolloutChange,
  type RolloutRecord,
  type RolloutStore,
  type RolloutStores,
} from "./ports.js";
import { KyselyEvidenceStore } from "./evidence-store.js";
import { KyselyGatePolicyStore } from "./gate-policy-store.js";
import { KyselyObservationStore } from "./observation-store.js";

/** The rollouts table. The environment row itself is changed only through the environments port. */
export class KyselyRolloutStore implements RolloutStore {
  constructor(private readonly db: Kysely<Database>) {}

  live(key: EnvironmentKey, tx?: Tx): Promise<RolloutRecord | undefined> {
    return queryOf(this.db, tx)
      .selectFrom("rollouts")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("state", "in", LIVE_STATES)
      .executeTakeFirst();
  }

  latest(key: EnvironmentKey, tx?: Tx): Promise<RolloutRecord | undefined> {
    return queryOf(this.db, tx)
      .selectFrom("rollouts")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  find(project: string, id: string, tx?: Tx): Promise<RolloutRecord | undefined> {
    return queryOf(this.db, tx).selectFrom("rollouts").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  findMany(project: string, ids: readonly string[], tx?: Tx): Promise<RolloutRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return queryOf(this.db, tx).selectFrom("rollouts").selectAll().where("project", "=", project).where("id", "in", ids).execute();
  }

  async insert(tx: Tx, key: EnvironmentKey, row: NewRollout): Promise<RolloutRecord> {
    try {
      return await queryOf(this.db, tx)
        .insertInto("rollouts")
        .values({
          project: key.project,
          id: row.id,
          environment: key.environment,
          stable: row.stable,
          candidate: row.candidate,
          basis_points: row.basisPoints,
          allow: row.allow,
          state: "running",
          auto: row.auto,
          revision: row.revision,
          created_by: row.createdBy,
          // One instant for all three (each column's own clock_timestamp() default differs by a
          // few microseconds): the first step starts exactly when the rollout was created.
          created_at: sql<Date>`statement_timestamp()`,
          updated_at: sql<Date>`statement_timestamp()`,
          step_started_at: sql<Date>`statement_timestamp()`,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A rollout is already live on environment ${key.environment}, or rollout ${row.id} exists`);
      throw err;
    }
  }

  async update(tx: Tx, rollout: Pick<RolloutRecord, "project" | "id" | "revision">, change: RolloutChange): Promise<RolloutRecord> {
    const ended = change.state === "promoted" || change.state === "aborted";
    const row = await queryOf(this.db, tx)
      .updateTable("rollouts")
      .set({
        revision: change.revision,
        updated_at: sql<Date>`clock_timestamp()`,
        ...(change.state !== undefined ? { state: change.state } : {}),
        ...(change.basisPoints !== undefined ? { basis_points: change.basisPoints } : {}),
        // A promote ends the rollout: its step clock stays on the last step, whose samples the
        // ended rollout's decision (and its evidence pack) keeps showing.
        ...(change.basisPoints !== undefined && change.state !== "promoted" ? { step_started_at: sql<Date>`clock_timestamp()` } : {}),
        ...(change.resumed ? { resumed_at: sql<Date>`clock_timestamp()` } : {}),
        ...(ended ? { ended_at: sql<Date>`clock_timestamp()` } : {}),
      })
      .where("project", "=", rollout.project)
      .where("id", "=", rollout.id)
      .where("revision", "=", rollout.revision)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new StaleRolloutError(rollout.id, rollout.revision);
    return row;
  }

  runningAuto(): Promise<RolloutRecord[]> {
    return this.db.selectFrom("rollouts").selectAll().where("state", "=", "running").where("auto", "=", true).orderBy("seq").execute();
  }

  running(): Promise<RolloutRecord[]> {
    return this.db.selectFrom("rollouts").selectAll().where("state", "=", "running").orderBy("seq").execute();
  }

  async recentPerEnvironment(endedAfter: Date, limit: number): Promise<RolloutRecord[]> {
    const { rows } = await sql<RolloutRecord>`
      select distinct on (project, environment) *
      from rollouts
      where state in ('running', 'paused') or ended_at > ${endedAfter}
      order by project, environment, seq desc
      limit ${limit}`.execute(this.db);
    return rows;
  }

  async reserveEvidence(project: string, rolloutId: string): Promise<number> {
    const row = await this.db
      .updateTable("rollouts")
      .set({ evidence_count: sql<number>`evidence_count + 1` })
      .where("project", "=", project)
      .where("id", "=", rolloutId)
      .returning("evidence_count")
      .executeTakeFirstOrThrow();
    return row.evidence_count;
  }
}

/** Every rollouts store on one Kysely handle. */
export function kyselyRolloutStores(db: Kysely<Database>): RolloutStores {
  return {
    rollouts: new KyselyRolloutStore(db),
    observations: new KyselyObservationStore(db),
    policies: new KyselyGatePolicyStore(db),
    evidence: new KyselyEvidenceStore(db),
  };
}
