import { sql, type Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { CollectionStore, ProjectTally, VersionKey } from "./ports.js";
import { deadBlobCondition, reachableCtes } from "./reachable.js";

const num = (v: unknown): number => Number(v ?? 0);

/**
 * The garbage collector's mark and sweep, and the one named exception to "a store queries only
 * its own domain's tables" (docs/architecture.md, test/unit/table-ownership.test.ts EXCEPTIONS).
 * What is reachable is a set operation over projects, retention settings, environments, their
 * history, rollouts, evidence packs, incidents, version sets, artifacts, artifact_blobs, blobs
 * and blob_links, evaluated in ONE statement so it sees one snapshot (a deploy that commits
 * mid-mark cannot make the mark inconsistent), and decided again inside the locking statement of
 * `retire` and `claim` (the decision must see every deploy or publish that committed while the
 * locks were awaited). Split across the owners' ports it would be many statements over several
 * snapshots, and a round trip per set on 100 000 versions and 1 000 000 blob rows (bench part gc).
 * Every other gc read and write goes through a port (GcStore, WebhookHousekeeping).
 */
export class KyselyCollectionStore implements CollectionStore {
  constructor(private readonly db: Kysely<Database>) {}

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
  async retire(tx: Tx, project: string, keys: VersionKey[], graceMs: number): Promise<VersionKey[]> {
    if (keys.length === 0) return [];
    const tuples = sql.join(keys.map((k) => sql`(${k.kind}, ${k.name}, ${k.version}::int)`));
    const trx = queryOf(this.db, tx);
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
  async claim(tx: Tx, digests: string[], graceMs: number): Promise<string[]> {
    if (digests.length === 0) return [];
    const trx = queryOf(this.db, tx);
    await trx.selectFrom("blobs").select("digest").where("digest", "in", digests).orderBy("digest").forUpdate().execute();
    const dead = deadBlobCondition({ graceMs, assumeRetired: false });
    const rows = await sql<{ digest: string }>`
      update blobs b set gc_claimed_at = coalesce(b.gc_claimed_at, clock_timestamp())
      where b.digest in (${sql.join(digests)}) and ${dead}
      returning b.digest`.execute(trx);
    return rows.rows.map((r) => r.digest).sort();
  }

  /** Locks the rows among `digests` that are still claimed (an upload or publish may have taken one back). */
  async lockClaimed(tx: Tx, digests: string[]): Promise<Array<{ digest: string; size: number }>> {
    if (digests.length === 0) return [];
    const rows = await queryOf(this.db, tx)
      .selectFrom("blobs")
      .select(["digest", "size"])
      .where("digest", "in", digests)
      .where("gc_claimed_at", "is not", null)
      .orderBy("digest")
      .forUpdate()
      .execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  async linksOf(tx: Tx, digests: string[]): Promise<Array<{ project: string; digest: string }>> {
    if (digests.length === 0) return [];
    return queryOf(this.db, tx).selectFrom("blob_links").select(["project", "digest"]).where("digest", "in", digests).execute();
  }

  async deleteBlobRows(tx: Tx, digests: string[]): Promise<void> {
    if (digests.length === 0) return;
    const trx = queryOf(this.db, tx);
    await trx.deleteFrom("blob_links").where("digest", "in", digests).execute();
    await trx.deleteFrom("blobs").where("digest", "in", digests).execute();
  }

  /** What the database says each project holds in the blob store (claimed blobs no longer count). */
  async bytesByProject(): Promise<Array<{ project: string; bytes: number }>> {
    const rows = await sql<{ project: string; bytes: string }>`
      select l.project, coalesce(sum(b.size), 0) as bytes from blob_links l join blobs b on b.digest = l.digest
      where b.gc_claimed_at is null group by l.project order by l.project`.execute(this.db);
    return rows.rows.map((r) => ({ project: r.project, bytes: num(r.bytes) }));
  }

}
