import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/**
 * Rows about blobs: `blobs` (bytes committed to the store) and `blob_links` (who may read them).
 *
 * A row with `gc_claimed_at` set is being collected (src/gc/collector.ts): its bytes are not
 * trusted, so it counts as absent for reads, and whoever needs the bytes again either stores
 * them again (upload) or checks they are still there before clearing the claim (revive).
 * `touched_at` is refreshed by every upload, so a collection never claims a blob that is
 * being uploaded or was uploaded within the grace period.
 */
export class BlobLinkStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The blob's size when `project` has linked it and it is not claimed; undefined otherwise (even if another project has). */
  async findLinked(project: string, digest: string): Promise<{ size: number } | undefined> {
    return this.db
      .selectFrom("blob_links")
      .innerJoin("blobs", "blobs.digest", "blob_links.digest")
      .select("blobs.size")
      .where("blob_links.project", "=", project)
      .where("blob_links.digest", "=", digest)
      .where("blobs.gc_claimed_at", "is", null)
      .executeTakeFirst();
  }

  /**
   * Refreshes `touched_at` when the bytes are trusted (row present, not claimed) and returns the
   * size; when `project` is given, only if that project has linked the blob. The row lock this
   * takes orders the touch with a collection's claim: either the claim sees the fresh touch, or
   * the touch sees the claim and returns undefined.
   */
  async touch(digest: string, project?: string): Promise<{ size: number } | undefined> {
    let q = this.db
      .updateTable("blobs")
      .set({ touched_at: sql<Date>`now()` })
      .where("digest", "=", digest)
      .where("gc_claimed_at", "is", null);
    if (project !== undefined) {
      q = q.where(({ exists, selectFrom }) =>
        exists(selectFrom("blob_links").select("blob_links.digest").where("blob_links.project", "=", project).where("blob_links.digest", "=", digest)),
      );
    }
    return q.returning("size").executeTakeFirst();
  }

  /**
   * Takes a claimed blob back from the collector before its bytes are stored again: clears the
   * claim and touches the row (waiting for a collector holding the row). From then on the
   * collector leaves the bytes alone; the caller stores them (again) before relying on them.
   */
  async unclaim(digest: string): Promise<void> {
    await this.db
      .updateTable("blobs")
      .set({ gc_claimed_at: null, touched_at: sql<Date>`now()` })
      .where("digest", "=", digest)
      .where("gc_claimed_at", "is not", null)
      .execute();
  }

  /** Linked blobs of `project` among `digests`, with their sizes (claimed ones too: a publish may revive them). */
  async linkedAmong(project: string, digests: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += 1000) {
      const rows = await this.db
        .selectFrom("blob_links")
        .innerJoin("blobs", "blobs.digest", "blob_links.digest")
        .select(["blobs.digest", "blobs.size"])
        .where("blob_links.project", "=", project)
        .where("blob_links.digest", "in", unique.slice(i, i + 1000))
        .execute();
      for (const r of rows) found.set(r.digest, Number(r.size));
    }
    return found;
  }

  /**
   * Inside a publish transaction: share-locks the blob rows the new version references, so no
   * collection can claim them until the transaction (and its artifact_blobs rows) commits.
   * Returns the digests that are claimed or gone: the publish must not reference them as they are.
   */
  async hold(trx: Kysely<Database>, digests: string[]): Promise<string[]> {
    const unique = [...new Set(digests)].sort();
    const held = new Set<string>();
    for (let i = 0; i < unique.length; i += 1000) {
      const rows = await trx
        .selectFrom("blobs")
        .select("digest")
        .where("digest", "in", unique.slice(i, i + 1000))
        .where("gc_claimed_at", "is", null)
        .orderBy("digest")
        .forShare()
        .execute();
      for (const r of rows) held.add(r.digest);
    }
    return unique.filter((d) => !held.has(d));
  }

  /** The claim on `digest` when it has one, under a row lock (`trx` must be a transaction). */
  async lockClaimed(trx: Kysely<Database>, digest: string): Promise<boolean> {
    const row = await trx.selectFrom("blobs").select("gc_claimed_at").where("digest", "=", digest).forUpdate().executeTakeFirst();
    return row?.gc_claimed_at != null;
  }

  /** A retired artifact version of `project` that references `digest` (for a 410 naming it). */
  async retiredReference(project: string, digest: string): Promise<{ kind: string; name: string; version: number } | undefined> {
    return this.db
      .selectFrom("artifact_blobs as ab")
      .innerJoin("artifacts as a", (j) =>
        j.onRef("a.project", "=", "ab.project").onRef("a.kind", "=", "ab.kind").onRef("a.name", "=", "ab.name").onRef("a.version", "=", "ab.version"),
      )
      .select(["a.kind", "a.name", "a.version"])
      .where("ab.project", "=", project)
      .where("ab.digest", "=", digest)
      .where("a.retired_at", "is not", null)
      .orderBy("a.version", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  async recordBlob(db: Kysely<Database>, digest: string, size: number): Promise<void> {
    await db
      .insertInto("blobs")
      .values({ digest, size })
      .onConflict((oc) => oc.column("digest").doUpdateSet({ touched_at: sql<Date>`now()` }))
      .execute();
  }

  /** true when this call created the link. */
  async link(db: Kysely<Database>, project: string, digest: string): Promise<boolean> {
    const row = await db
      .insertInto("blob_links")
      .values({ project, digest })
      .onConflict((oc) => oc.columns(["project", "digest"]).doNothing())
      .returning("digest")
      .executeTakeFirst();
    return row !== undefined;
  }
}
