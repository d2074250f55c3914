import { sql, type Kysely, type Selectable } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Database, EnvironmentsTable, EvidencePacksTable, RolloutObservationsTable, RolloutsTable } from "../db/schema.js";

export type RolloutRow = Selectable<RolloutsTable>;
export type ObservationRow = Selectable<RolloutObservationsTable>;
export type EvidenceRow = Selectable<EvidencePacksTable>;
export type LockedEnvironmentRow = Pick<Selectable<EnvironmentsTable>, "name" | "active" | "revision" | "frozen" | "protected">;


export const LIVE_STATES = ["running", "paused"] as const;

export interface NewRollout {
  id: string;
  stable: string;
  candidate: string;
  basisPoints: number;
  allow: string[];
  auto: boolean;
  revision: number;
  createdBy: string;
}

export interface NewObservation {
  id: string;
  rolloutId: string;
  versionSet: string;
  side: "stable" | "candidate";
  windowStart: Date;
  windowEnd: Date;
  metrics: Record<string, unknown>;
  requests?: number | undefined;
  segments?: Record<string, number> | undefined;
  sampleTraceIds: string[];
  source: "push" | "prometheus";
  queries: Record<string, unknown> | null;
  createdBy: string;
  traceId: string;
}

export interface NewEvidence {
  id: string;
  rolloutId: string;
  trigger: EvidenceRow["trigger"];
  location: string;
  files: Array<{ name: string; digest: string; size: number }>;
  manifestDigest: string;
  createdBy: string;
  traceId: string | null;
}

/** A rollout step was decided on a row that another transaction has since changed. */
export class StaleRolloutError extends Error {
  constructor(
    readonly rolloutId: string,
    readonly revision: number,
  ) {
    super(`rollout ${rolloutId} is no longer at revision ${revision}`);
    this.name = "StaleRolloutError";
  }
}

/**
 * SQL for rollouts, observations, gate policies and evidence rows. Writes take the caller's
 * transaction; the environment row itself is changed only by applyEnvironmentChange.
 */
export class RolloutStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Locks the environment row for the rest of the transaction. Every rollout step, observation
   * and deploy takes this lock first, so they are serialized per environment, on any instance.
   */
  lockEnvironment(trx: Kysely<Database>, key: EnvironmentKey): Promise<LockedEnvironmentRow | undefined> {
    return trx
      .selectFrom("environments")
      .select(["name", "active", "revision", "frozen", "protected"])
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .forUpdate()
      .executeTakeFirst();
  }

  projectExists(project: string, db: Kysely<Database> = this.db): Promise<boolean> {
    return db
      .selectFrom("projects")
      .select("seq")
      .where("name", "=", project)
      .executeTakeFirst()
      .then((row) => row !== undefined);
  }

  environmentExists(key: EnvironmentKey): Promise<boolean> {
    return this.db
      .selectFrom("environments")
      .select("seq")
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .executeTakeFirst()
      .then((row) => row !== undefined);
  }

  /** Read in the caller's transaction (on PGlite a read outside it would wait for it to end). */
  versionSetExists(trx: Kysely<Database>, project: string, id: string): Promise<boolean> {
    return trx
      .selectFrom("version_sets")
      .select("seq")
      .where("project", "=", project)
      .where("id", "=", id)
      .executeTakeFirst()
      .then((row) => row !== undefined);
  }

  /** The running or paused rollout (at most one, by the partial unique index). */
  live(key: EnvironmentKey, db: Kysely<Database> = this.db): Promise<RolloutRow | undefined> {
    return db
      .selectFrom("rollouts")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("state", "in", LIVE_STATES)
      .executeTakeFirst();
  }

  /** The most recent rollout (a live one is always the most recent: a new one starts only when none is live). */
  latest(key: EnvironmentKey, db: Kysely<Database> = this.db): Promise<RolloutRow | undefined> {
    return db
      .selectFrom("rollouts")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  find(project: string, id: string, db: Kysely<Database> = this.db): Promise<RolloutRow | undefined> {
    return db.selectFrom("rollouts").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  insert(trx: Kysely<Database>, key: EnvironmentKey, row: NewRollout): Promise<RolloutRow> {
    return trx
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
  }

  /**
   * Compare-and-set on the rollout's revision: the row changes only if it is still at the
   * revision `rollout` was read at (every step writes a new one), else StaleRolloutError — so a
   * step decided on a row another transaction has moved on from can never be applied. The
   * environment row lock already serializes steps; this makes the invariant local to the row.
   * A new percent restarts the step clock (`step_started_at`), except the promote; a resume sets `resumed_at`.
   */
  async update(
    trx: Kysely<Database>,
    rollout: Pick<RolloutRow, "project" | "id" | "revision">,
    change: { state?: RolloutRow["state"]; basisPoints?: number; revision: number; resumed?: boolean },
  ): Promise<RolloutRow> {
    const ended = change.state === "promoted" || change.state === "aborted";
    const row = await trx
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

  /** Running rollouts with `auto` on, in every project (the analysis loop's work list), oldest first. */
  runningAuto(db: Kysely<Database> = this.db): Promise<RolloutRow[]> {
    return db.selectFrom("rollouts").selectAll().where("state", "=", "running").where("auto", "=", true).orderBy("seq").execute();
  }

  /** Reserves the next pack number of a rollout (its own statement: numbers are never reused). */
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

  insertObservation(trx: Kysely<Database>, key: EnvironmentKey, row: NewObservation): Promise<ObservationRow> {
    return trx
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

  /** Every observation of a rollout, most recent window first (ties: most recently recorded). */
  observationsOf(project: string, rolloutId: string, db: Kysely<Database> = this.db): Promise<ObservationRow[]> {
    return db
      .selectFrom("rollout_observations")
      .selectAll()
      .where("project", "=", project)
      .where("rollout_id", "=", rolloutId)
      .orderBy("window_end", "desc")
      .orderBy("seq", "desc")
      .execute();
  }

  /** Newest recorded first; `before` is a `seq` (the cursor). */
  listObservations(key: EnvironmentKey, options: { before?: number; limit: number; rolloutId?: string }): Promise<ObservationRow[]> {
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

  async policy(key: EnvironmentKey, db: Kysely<Database> = this.db): Promise<unknown> {
    const row = await db
      .selectFrom("gate_policies")
      .select("policy")
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .executeTakeFirst();
    return row?.policy;
  }

  async savePolicy(trx: Kysely<Database>, key: EnvironmentKey, policy: unknown, updatedBy: string): Promise<void> {
    const json = JSON.stringify(policy);
    await trx
      .insertInto("gate_policies")
      .values({ project: key.project, environment: key.environment, policy: json, updated_by: updatedBy })
      .onConflict((oc) =>
        oc.columns(["project", "environment"]).doUpdateSet({ policy: json, updated_by: updatedBy, updated_at: sql<Date>`clock_timestamp()` }),
      )
      .execute();
  }

  insertEvidence(trx: Kysely<Database>, key: EnvironmentKey, row: NewEvidence): Promise<EvidenceRow> {
    return trx
      .insertInto("evidence_packs")
      .values({
        project: key.project,
        id: row.id,
        environment: key.environment,
        rollout_id: row.rolloutId,
        trigger: row.trigger,
        location: row.location,
        files: JSON.stringify(row.files),
        manifest_digest: row.manifestDigest,
        created_by: row.createdBy,
        trace_id: row.traceId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findEvidence(project: string, id: string): Promise<EvidenceRow | undefined> {
    return this.db.selectFrom("evidence_packs").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  /** Pack ids of a rollout, oldest first. */
  async evidenceIds(project: string, rolloutId: string, db: Kysely<Database> = this.db): Promise<string[]> {
    const rows = await db
      .selectFrom("evidence_packs")
      .select("id")
      .where("project", "=", project)
      .where("rollout_id", "=", rolloutId)
      .orderBy("seq")
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * When each percent of a rollout took effect, oldest first: its start and every advance (a
   * promote ends it). Read from the environment's history, in the caller's transaction.
   */
  async percentChanges(rollout: Pick<RolloutRow, "project" | "environment" | "id">, db: Kysely<Database> = this.db): Promise<Array<{ at: Date; percent: number }>> {
    const rows = await db
      .selectFrom("environment_history")
      .select(["at", "action", "detail"])
      .where("project", "=", rollout.project)
      .where("environment", "=", rollout.environment)
      .where("action", "in", ["rollout_start", "advance"])
      .where(sql<string>`detail->>'rollout'`, "=", rollout.id)
      .orderBy("revision")
      .execute();
    return rows.flatMap((r) => {
      const detail = (r.detail ?? {}) as { percent?: unknown; to_percent?: unknown };
      const percent = r.action === "rollout_start" ? detail.percent : detail.to_percent;
      return typeof percent === "number" ? [{ at: r.at, percent }] : [];
    });
  }

  /** The environment's history entries written by one rollout (oldest first). */
  historyOf(project: string, rollout: Pick<RolloutRow, "id" | "environment">): Promise<Array<Selectable<Database["environment_history"]>>> {
    return this.db
      .selectFrom("environment_history")
      .selectAll()
      .where("project", "=", project)
      .where("environment", "=", rollout.environment)
      .where(sql<string>`detail->>'rollout'`, "=", rollout.id)
      .orderBy("revision")
      .execute();
  }

  /** The fields a rollout keeps from its start, for some rollouts of a project (the environments' watch replay: PastRolloutReader). */
  fixedOf(project: string, ids: string[]): Promise<Array<Pick<RolloutRow, "id" | "environment" | "stable" | "candidate" | "allow" | "auto" | "created_at">>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom("rollouts")
      .select(["id", "environment", "stable", "candidate", "allow", "auto", "created_at"])
      .where("project", "=", project)
      .where("id", "in", ids)
      .execute();
  }

  /** The audit entries of one rollout: its steps, and the freeze its stop caused (oldest first). */
  auditOf(project: string, target: string, rolloutId: string): Promise<Array<Selectable<Database["audit_log"]>>> {
    return this.db
      .selectFrom("audit_log")
      .selectAll()
      .where("project", "=", project)
      .where((eb) => eb.or([eb("target", "=", target), eb(sql<string>`after->>'rollout'`, "=", rolloutId)]))
      .orderBy("seq")
      .execute();
  }
}
