import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { ConflictError } from "../core/errors.js";
import type { Tx } from "../core/transaction.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { GcRunRecord, GcStore } from "./ports.js";
import { DEFAULT_RETENTION, type Retention } from "./settings.js";

/** Retention settings and the record of runs (the collection's statements are in collection-store.ts). */
export class KyselyGcStore implements GcStore {
  constructor(private readonly db: Kysely<Database>) {}

  async retention(project: string, tx?: Tx): Promise<Retention> {
    const row = await queryOf(this.db, tx).selectFrom("retention_settings").select(["days", "keep_last"]).where("project", "=", project).executeTakeFirst();
    return row ?? { ...DEFAULT_RETENTION };
  }

  async setRetention(tx: Tx, project: string, value: Retention, actor: string): Promise<void> {
    await queryOf(this.db, tx)
      .insertInto("retention_settings")
      .values({ project, days: value.days, keep_last: value.keep_last, updated_by: actor })
      .onConflict((oc) => oc.column("project").doUpdateSet({ days: value.days, keep_last: value.keep_last, updated_by: actor, updated_at: sql<Date>`clock_timestamp()` }))
      .execute();
  }

  /** The partial unique index admits one running row: a second start fails with 23505 (ConflictError). */
  async startRun(input: { project: string | null; dryRun: boolean; trigger: "api" | "schedule"; actor: string | null; leaseMs: number }): Promise<GcRunRecord> {
    try {
      return await this.insertRun(input);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError("A garbage collection is already running");
      throw err;
    }
  }

  private insertRun(input: { project: string | null; dryRun: boolean; trigger: "api" | "schedule"; actor: string | null; leaseMs: number }): Promise<GcRunRecord> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable("gc_runs")
        .set({ state: "interrupted", finished_at: sql<Date>`clock_timestamp()`, error: "the process running it stopped (no heartbeat within the lease)" })
        .where("state", "=", "running")
        .where("heartbeat_at", "<", sql<Date>`clock_timestamp() - (${input.leaseMs}::bigint * interval '1 millisecond')`)
        .execute();
      return trx
        .insertInto("gc_runs")
        .values({ id: `gc_${randomBytes(12).toString("hex")}`, project: input.project, dry_run: input.dryRun, state: "running", trigger: input.trigger, actor: input.actor })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  async heartbeat(id: string): Promise<void> {
    await this.db.updateTable("gc_runs").set({ heartbeat_at: sql<Date>`clock_timestamp()` }).where("id", "=", id).where("state", "=", "running").execute();
  }

  async finishRun(id: string, outcome: { state: "finished" | "failed"; report?: unknown; error?: string }): Promise<GcRunRecord> {
    return this.db
      .updateTable("gc_runs")
      .set({
        state: outcome.state,
        finished_at: sql<Date>`clock_timestamp()`,
        report: outcome.report === undefined ? null : JSON.stringify(outcome.report),
        error: outcome.error ?? null,
      })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listRuns(options: { before?: number; limit: number }): Promise<GcRunRecord[]> {
    let q = this.db.selectFrom("gc_runs").selectAll().orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }
}
