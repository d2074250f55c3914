import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** Rows about blobs: `blobs` (bytes committed to the store) and `blob_links` (who may read them). */
export class BlobLinkStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The blob's size when `project` has linked it; undefined otherwise (even if another project has). */
  async findLinked(project: string, digest: string): Promise<{ size: number } | undefined> {
    return this.db
      .selectFrom("blob_links")
      .innerJoin("blobs", "blobs.digest", "blob_links.digest")
      .select("blobs.size")
      .where("blob_links.project", "=", project)
      .where("blob_links.digest", "=", digest)
      .executeTakeFirst();
  }

  async exists(digest: string): Promise<boolean> {
    const row = await this.db.selectFrom("blobs").select("digest").where("digest", "=", digest).executeTakeFirst();
    return row !== undefined;
  }

  /** Linked blobs of `project` among `digests`, with their sizes. */
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
      for (const r of rows) found.set(r.digest, r.size);
    }
    return found;
  }

  async recordBlob(db: Kysely<Database>, digest: string, size: number): Promise<void> {
    await db.insertInto("blobs").values({ digest, size }).onConflict((oc) => oc.column("digest").doNothing()).execute();
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
