import { randomBytes } from "node:crypto";
import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, GcRunsTable } from "../db/schema.js";
import { deadBlobCondition, reachableCtes } from "./reachable.js";
import { DEFAULT_RETENTION, type Retention } from "./settings.js";

export type GcRunRow = Selectable<GcRunsTable>;

export interface VersionKey {
  project: string;
  kind: string;
  name: string;
  version: number;
}

export interface ProjectTally {
  project: string;
  retired_versions: number;
  blobs: number;
  bytes: number;
}

const num = (v: unknown): number => Number(v ?? 0);

/** The garbage collector's SQL. Every statement that decides runs after the row locks it relies on. */
export class GcStore {
  constructor(private readonly db: Kysely<Database>) {}

  async retention(project: string): Promise<Retention> {
    const row = await this.db.selectFrom("retention_settings").select(["days", "keep_last"]).where("project", "=", project).executeTakeFirst();
    return row ?? { ...DEFAULT_RETENTION };
  }

  async setRetention(trx: Kysely<Database>, project: string, value: Retention, actor: string): Promise<void> {
    await trx
      .insertInto("retention_settings")
      .values({ project, days: value.days, keep_last: value.keep_last, updated_by: actor })
      .onConflict((oc) => oc.column("project").doUpdateSet({ days: value.days, keep_last: value.keep_last, updated_by: actor, updated_at: sql<Date>`clock_timestamp()` }))
      .execute();
  }

  /** A dry run in two statements, aggregated in the database: what would be retired and freed, per project. */
  async preview(options: { project?: string; graceMs: number }): Promise<{ projects: ProjectTally[]; total: Omit<ProjectTally, "project"> }> {
    const ctes = reachableCtes(options);
    const dead = deadBlobCondition({ graceMs: options.graceMs, assumeRetired: true });
    const scoped = options.project !== undefined ? sql`and exists (select 1 from blob_links l where l.digest = b.digest and l.project = ${options.project})` : sql``;
    const retired = await sql<{ project: string; n: string }>`
      with ${ctes} select project, count(*) as n from retirable group by project`.execute(this.db);
    const blobs = await sql<{ project: string | null; blobs: string; bytes: string }>`
      with ${ctes}, dead as (select b.digest, b.size from blobs b where ${dead} ${scoped})
      select l.project, count(*) as blobs, coalesce(sum(d.size), 0) as bytes
      from dead d join blob_links l on l.digest = d.digest
      ${options.project !== undefined ? sql`where l.project = ${options.project}` : sql``}
      group by l.project
      union all
      select null, count(*), coalesce(sum(size), 0) from dead`.execute(this.db);
    const byProject = new Map<string, ProjectTally>();
    const tally = (project: string) => {
      let t = byProject.get(project);
      if (!t) byProject.set(project, (t = { project, retired_versions: 0, blobs: 0, bytes: 0 }));
      return t;
    };
    let retiredTotal = 0;
    for (const r of retired.rows) {
      tally(r.project).retired_versions = num(r.n);
      retiredTotal += num(r.n);
    }
    let total = { retired_versions: retiredTotal, blobs: 0, bytes: 0 };
    for (const r of blobs.rows) {
      if (r.project === null) total = { retired_versions: retiredTotal, blobs: num(r.blobs), bytes: num(r.bytes) };
      else Object.assign(tally(r.project), { blobs: num(r.blobs), bytes: num(r.bytes) });
    }
    return { projects: [...byProject.values()].sort((a, b) => a.project.localeCompare(b.project)), total };
  }

  /** Keys only (a few dozen bytes each), in lock order. */
  async retirable(options: { project?: string; graceMs: number }): Promise<VersionKey[]> {
    const rows = await sql<VersionKey>`
      with ${reachableCtes(options)} select project, kind, name, version from retirable order by project, kind, name, version`.execute(this.db);
    return rows.rows;
  }

  /**
   * Retires what is still retirable among `keys` (one project). The update lock comes first;
   * the decision is a second statement, so it sees every deploy that committed while we waited
   * (a deploy share-locks the versions it makes reachable: see artifacts/retired.ts).
   */
  async retire(trx: Kysely<Database>, project: string, keys: VersionKey[], graceMs: number): Promise<VersionKey[]> {
    if (keys.length === 0) return [];
    const tuples = sql.join(keys.map((k) => sql`(${k.kind}, ${k.name}, ${k.version}::int)`));
    await sql`select 1 from artifacts where project = ${project} and (kind, name, version) in (${tuples})
      order by kind, name, version for update`.execute(trx);
    const rows = await sql<VersionKey>`
      with ${reachableCtes({ project, graceMs })}
      update artifacts a set retired_at = clock_timestamp()
      from retirable r
      where a.project = ${project} and (a.kind, a.name, a.version) in (${tuples})
        and r.project = a.project and r.kind = a.kind and r.name = a.name and r.version = a.version
      returning a.project, a.kind, a.name, a.version`.execute(trx);
    return rows.rows;
  }

  /** The next dead blobs after `after`, in digest order (the keyset the sweep walks). */
  async deadDigests(options: { after: string; limit: number; project?: string; graceMs: number }): Promise<string[]> {
    const dead = deadBlobCondition({ graceMs: options.graceMs, assumeRetired: false });
    const scoped = options.project !== undefined ? sql`and exists (select 1 from blob_links l where l.digest = b.digest and l.project = ${options.project})` : sql``;
    const rows = await sql<{ digest: string }>`
      select b.digest from blobs b where b.digest > ${options.after} and ${dead} ${scoped}
      order by b.digest limit ${options.limit}`.execute(this.db);
    return rows.rows.map((r) => r.digest);
  }

  /**
   * Claims the blobs among `digests` that are still dead, after locking their rows: an upload's
   * touch or a publish's share lock either committed before (and is seen here) or waits for
   * this commit and then finds the claim. Rows claimed by an earlier, interrupted run are
   * returned too: their sweep was not finished.
   */
  async claim(trx: Kysely<Database>, digests: string[], graceMs: number): Promise<string[]> {
    if (digests.length === 0) return [];
    await trx.selectFrom("blobs").select("digest").where("digest", "in", digests).orderBy("digest").forUpdate().execute();
    const dead = deadBlobCondition({ graceMs, assumeRetired: false });
    const rows = await sql<{ digest: string }>`
      update blobs b set gc_claimed_at = coalesce(b.gc_claimed_at, clock_timestamp())
      where b.digest in (${sql.join(digests)}) and ${dead}
      returning b.digest`.execute(trx);
    return rows.rows.map((r) => r.digest).sort();
  }

  /** Locks the rows among `digests` that are still claimed (an upload or publish may have taken one back). */
  async lockClaimed(trx: Kysely<Database>, digests: string[]): Promise<Array<{ digest: string; size: number }>> {
    if (digests.length === 0) return [];
    const rows = await trx
      .selectFrom("blobs")
      .select(["digest", "size"])
      .where("digest", "in", digests)
      .where("gc_claimed_at", "is not", null)
      .orderBy("digest")
      .forUpdate()
      .execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  async linksOf(trx: Kysely<Database>, digests: string[]): Promise<Array<{ project: string; digest: string }>> {
    if (digests.length === 0) return [];
    return trx.selectFrom("blob_links").select(["project", "digest"]).where("digest", "in", digests).execute();
  }

  async deleteBlobRows(trx: Kysely<Database>, digests: string[]): Promise<void> {
    if (digests.length === 0) return;
    await trx.deleteFrom("blob_links").where("digest", "in", digests).execute();
    await trx.deleteFrom("blobs").where("digest", "in", digests).execute();
  }

  /**
   * Delivered outbox rows (their attempts go with them, ON DELETE CASCADE) and delivery attempts
   * older than `days`. The audit log is never pruned.
   */
  async pruneWebhooks(days: number): Promise<{ outbox_rows: number; attempts: number }> {
    const cutoff = sql<Date>`now() - make_interval(days => ${days})`;
    const attempts = await this.db.deleteFrom("webhook_attempts").where("at", "<", cutoff).executeTakeFirst();
    const outbox = await this.db.deleteFrom("webhook_outbox").where("state", "=", "delivered").where("finished_at", "<", cutoff).executeTakeFirst();
    return { outbox_rows: Number(outbox.numDeletedRows), attempts: Number(attempts.numDeletedRows) };
  }

  /** What the database says each project holds in the blob store (claimed blobs no longer count). */
  async bytesByProject(): Promise<Array<{ project: string; bytes: number }>> {
    const rows = await sql<{ project: string; bytes: string }>`
      select l.project, coalesce(sum(b.size), 0) as bytes from blob_links l join blobs b on b.digest = l.digest
      where b.gc_claimed_at is null group by l.project order by l.project`.execute(this.db);
    return rows.rows.map((r) => ({ project: r.project, bytes: num(r.bytes) }));
  }

  // ---- runs ----

  /**
   * Inserts a 'running' row, first marking as interrupted any 'running' row whose heartbeat is
   * older than the lease (its process died). The partial unique index admits one running row:
   * a second start fails with 23505, which the service answers as 409 gc_running.
   */
  async startRun(input: { project: string | null; dryRun: boolean; trigger: "api" | "schedule"; actor: string | null; leaseMs: number }): Promise<GcRunRow> {
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

  async finishRun(id: string, outcome: { state: "finished" | "failed"; report?: unknown; error?: string }): Promise<GcRunRow> {
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

  listRuns(options: { before?: number; limit: number }): Promise<GcRunRow[]> {
    let q = this.db.selectFrom("gc_runs").selectAll().orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }
}
