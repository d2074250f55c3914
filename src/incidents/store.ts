import { sql, type Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { IncidentKey, IncidentNote, IncidentRecord, IncidentState, IncidentStore, Mitigation, NewIncident } from "./ports.js";

export class KyselyIncidentStore implements IncidentStore {
  constructor(private readonly db: Kysely<Database>) {}

  find(project: string, id: string, tx?: Tx): Promise<IncidentRecord | undefined> {
    return queryOf(this.db, tx).selectFrom("incidents").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  findForUpdate(tx: Tx, project: string, id: string): Promise<IncidentRecord | undefined> {
    return queryOf(this.db, tx).selectFrom("incidents").selectAll().where("project", "=", project).where("id", "=", id).forUpdate().executeTakeFirst();
  }

  openFor(tx: Tx, key: IncidentKey): Promise<IncidentRecord | undefined> {
    return queryOf(this.db, tx)
      .selectFrom("incidents")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("state", "<>", "closed")
      .forUpdate()
      .executeTakeFirst();
  }

  byRollout(project: string, rollout: string, tx?: Tx): Promise<{ id: string } | undefined> {
    return queryOf(this.db, tx).selectFrom("incidents").select("id").where("project", "=", project).where("rollout", "=", rollout).orderBy("seq").limit(1).executeTakeFirst();
  }

  list(project: string, options: { state?: IncidentState; notClosed?: boolean; environment?: string; before?: number; limit: number }): Promise<IncidentRecord[]> {
    let q = this.db.selectFrom("incidents").selectAll().where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.state) q = q.where("state", "=", options.state);
    if (options.notClosed) q = q.where("state", "<>", "closed");
    if (options.environment) q = q.where("environment", "=", options.environment);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  insertIfNoneOpen(tx: Tx, key: IncidentKey, input: NewIncident): Promise<IncidentRecord | undefined> {
    return queryOf(this.db, tx)
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

  appendNote(tx: Tx, row: IncidentRecord, note: IncidentNote): Promise<IncidentRecord> {
    return queryOf(this.db, tx)
      .updateTable("incidents")
      .set({ notes: sql<string>`notes || ${JSON.stringify([note])}::jsonb` })
      .where("project", "=", row.project)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  link(tx: Tx, row: IncidentRecord, input: { rollout?: string | null; sampleTraceIds?: string[]; mitigated?: Mitigation; stable?: string | null }): Promise<IncidentRecord> {
    const traces = [...new Set([...row.sample_trace_ids, ...(input.sampleTraceIds ?? [])])];
    const mitigate = input.mitigated && row.state === "open";
    return queryOf(this.db, tx)
      .updateTable("incidents")
      .set({
        sample_trace_ids: JSON.stringify(traces),
        ...(row.rollout === null && input.rollout ? { rollout: input.rollout } : {}),
        ...(mitigate ? { state: "mitigated" as const, mitigated_at: sql<Date>`clock_timestamp()`, mitigated_by: JSON.stringify(input.mitigated) } : {}),
        ...(input.stable !== undefined && (mitigate || row.stable === null) ? { stable: input.stable } : {}),
      })
      .where("project", "=", row.project)
      .where("id", "=", row.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  close(tx: Tx, row: IncidentRecord, input: { closedBy: string; regressionSet: string | null; resolution: object }): Promise<IncidentRecord> {
    return queryOf(this.db, tx)
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
}
