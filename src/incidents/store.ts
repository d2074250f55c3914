import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, IncidentNote, IncidentsTable } from "../db/schema.js";

export type IncidentRow = Selectable<IncidentsTable>;
export type IncidentState = IncidentRow["state"];
export type Severity = IncidentRow["severity"];

export interface IncidentKey {
  project: string;
  environment: string;
}

export interface NewIncident {
  id: string;
  severity: Severity;
  summary: string;
  openedBy: string;
  rollout: string | null;
  stable: string | null;
  sampleTraceIds: string[];
  /** Set when the change that opened it also stopped the loss (a gate abort, a degrade). */
  mitigated?: { action: string; revision: number };
  note?: IncidentNote;
}

/**
 * Reads and writes of incidents. At most one incident per environment is not closed (the partial
 * unique index incidents_one_open): `insertIfNoneOpen` answers undefined when another one is,
 * and the caller links to it instead. Every write happens in the caller's transaction.
 */
export class IncidentStore {
  constructor(private readonly db: Kysely<Database>) {}

  find(project: string, id: string, db: Kysely<Database> = this.db): Promise<IncidentRow | undefined> {
    return db.selectFrom("incidents").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  /** The environment's incident that is not closed, locked for the caller's transaction. */
  openFor(trx: Kysely<Database>, key: IncidentKey): Promise<IncidentRow | undefined> {
    return trx
      .selectFrom("incidents")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("state", "<>", "closed")
      .forUpdate()
      .executeTakeFirst();
  }

  byRollout(project: string, rollout: string, db: Kysely<Database> = this.db): Promise<{ id: string } | undefined> {
    return db.selectFrom("incidents").select("id").where("project", "=", project).where("rollout", "=", rollout).orderBy("seq").limit(1).executeTakeFirst();
  }

  list(project: string, options: { state?: IncidentState; notClosed?: boolean; environment?: string; before?: number; limit: number }): Promise<IncidentRow[]> {
    let q = this.db.selectFrom("incidents").selectAll().where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.state) q = q.where("state", "=", options.state);
    if (options.notClosed) q = q.where("state", "<>", "closed");
    if (options.environment) q = q.where("environment", "=", options.environment);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  async insertIfNoneOpen(trx: Kysely<Database>, key: IncidentKey, input: NewIncident): Promise<IncidentRow | undefined> {
    return trx
      .insertInto("incidents")
      .values({
        id: input.id,
        project: key.project,
        environment: key.environment,
        state: input.mitigated ? "mitigated" : "open",
        severity: input.severity,
        summary: input.summary,
        opened_by: input.openedBy,
        rollout: input.rollout,
        stable: input.stable,
        sample_trace_ids: JSON.stringify(input.sampleTraceIds),
        detected_at: sql<Date>`clock_timestamp()`,
        ...(input.mitigated ? { mitigated_at: sql<Date>`clock_timestamp()`, mitigated_by: JSON.stringify(input.mitigated) } : {}),
        notes: JSON.stringify(input.note ? [input.note] : []),
      })
      .onConflict((oc) => oc.columns(["project", "environment"]).where("state", "<>", "closed").doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  async appendNote(trx: Kysely<Database>, row: IncidentRow, note: IncidentNote): Promise<IncidentRow> {
    return trx
      .updateTable("incidents")
      .set({ notes: sql<string>`notes || ${JSON.stringify([note])}::jsonb` })
      .where("project", "=", row.project)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Links a rollout (when none yet), merges trace ids, and marks it mitigated (when still open). */
  async link(
    trx: Kysely<Database>,
    row: IncidentRow,
    input: { rollout?: string | null; sampleTraceIds?: string[]; mitigated?: { action: string; revision: number }; stable?: string | null },
  ): Promise<IncidentRow> {
    const traces = [...new Set([...row.sample_trace_ids, ...(input.sampleTraceIds ?? [])])];
    const mitigate = input.mitigated && row.state === "open";
    return trx
      .updateTable("incidents")
      .set({
        sample_trace_ids: JSON.stringify(traces),
        ...(row.rollout === null && input.rollout ? { rollout: input.rollout } : {}),
        ...(mitigate
          ? { state: "mitigated" as const, mitigated_at: sql<Date>`clock_timestamp()`, mitigated_by: JSON.stringify(input.mitigated) }
          : {}),
        ...(input.stable !== undefined && (mitigate || row.stable === null) ? { stable: input.stable } : {}),
      })
      .where("project", "=", row.project)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async close(trx: Kysely<Database>, row: IncidentRow, input: { closedBy: string; regressionSet: string | null; resolution: object }): Promise<IncidentRow> {
    return trx
      .updateTable("incidents")
      .set({
        state: "closed",
        closed_at: sql<Date>`clock_timestamp()`,
        closed_by: input.closedBy,
        regression_set: input.regressionSet,
        resolution: JSON.stringify(input.resolution),
      })
      .where("project", "=", row.project)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** The candidate side's sample trace ids of a rollout's observations, oldest first, once each. */
  async candidateTraceIds(trx: Kysely<Database>, project: string, rollout: string): Promise<string[]> {
    const rows = await trx
      .selectFrom("rollout_observations")
      .select("sample_trace_ids")
      .where("project", "=", project)
      .where("rollout_id", "=", rollout)
      .where("side", "=", "candidate")
      .orderBy("seq")
      .execute();
    return [...new Set(rows.flatMap((r) => r.sample_trace_ids))];
  }

  /** Evidence packs of the incident's rollout, oldest first. */
  evidence(project: string, rollout: string): Promise<Array<{ id: string; created_at: Date }>> {
    return this.db.selectFrom("evidence_packs").select(["id", "created_at"]).where("project", "=", project).where("rollout_id", "=", rollout).orderBy("seq").execute();
  }
}
