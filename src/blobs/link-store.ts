import { sql, type Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { BlobLinkStore } from "./ports.js";

/** Rows per statement for digest lists (bind parameters are limited). */
const CHUNK = 1000;

/** The blob rows in SQL; the port (blobs/ports.ts) says what each method guarantees. */
export class KyselyBlobLinkStore implements BlobLinkStore {
  constructor(private readonly db: Kysely<Database>) {}

  async findLinked(project: string, digest: string): Promise<{ size: number } | undefined> {
    const row = await this.db
      .selectFrom("blob_links")
      .innerJoin("blobs", "blobs.digest", "blob_links.digest")
      .select("blobs.size")
      .where("blob_links.project", "=", project)
      .where("blob_links.digest", "=", digest)
      .where("blobs.gc_claimed_at", "is", null)
      .executeTakeFirst();
    return row && { size: Number(row.size) };
  }

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
    const row = await q.returning("size").executeTakeFirst();
    return row && { size: Number(row.size) };
  }

  async unclaim(digest: string): Promise<void> {
    await this.db
      .updateTable("blobs")
      .set({ gc_claimed_at: null, touched_at: sql<Date>`now()` })
      .where("digest", "=", digest)
      .where("gc_claimed_at", "is not", null)
      .execute();
  }

  async linkedAmong(project: string, digests: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom("blob_links")
        .innerJoin("blobs", "blobs.digest", "blob_links.digest")
        .select(["blobs.digest", "blobs.size"])
        .where("blob_links.project", "=", project)
        .where("blob_links.digest", "in", unique.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) found.set(r.digest, Number(r.size));
    }
    return found;
  }

  async hold(tx: Tx, digests: string[]): Promise<string[]> {
    const trx = queryOf(this.db, tx);
    const unique = [...new Set(digests)].sort();
    const held = new Set<string>();
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await trx
        .selectFrom("blobs")
        .select("digest")
        .where("digest", "in", unique.slice(i, i + CHUNK))
        .where("gc_claimed_at", "is", null)
        .orderBy("digest")
        .forShare()
        .execute();
      for (const r of rows) held.add(r.digest);
    }
    return unique.filter((d) => !held.has(d));
  }

  async lockClaimed(tx: Tx, digest: string): Promise<boolean> {
    const row = await queryOf(this.db, tx).selectFrom("blobs").select("gc_claimed_at").where("digest", "=", digest).forUpdate().executeTakeFirst();
    return row?.gc_claimed_at != null;
  }

  async clearClaim(tx: Tx, digest: string): Promise<void> {
    await queryOf(this.db, tx).updateTable("blobs").set({ gc_claimed_at: null, touched_at: new Date() }).where("digest", "=", digest).execute();
  }

  async recordBlob(tx: Tx, digest: string, size: number): Promise<void> {
    await queryOf(this.db, tx)
      .insertInto("blobs")
      .values({ digest, size })
      .onConflict((oc) => oc.column("digest").doUpdateSet({ touched_at: sql<Date>`now()` }))
      .execute();
  }

  async link(tx: Tx, project: string, digest: string): Promise<boolean> {
    const row = await queryOf(this.db, tx)
      .insertInto("blob_links")
      .values({ project, digest })
      .onConflict((oc) => oc.columns(["project", "digest"]).doNothing())
      .returning("digest")
      .executeTakeFirst();
    return row !== undefined;
  }
}
