import { sql, type Kysely, type Selectable } from "kysely";
import type { ArtifactsTable, Database } from "../db/schema.js";

export type ArtifactRow = Selectable<ArtifactsTable>;

export interface ArtifactKey {
  project: string;
  kind: string;
  name: string;
}

export type ArtifactRef = { by: "latest" } | { by: "version"; version: number } | { by: "digest"; digest: string };

export class ArtifactStore {
  constructor(private readonly db: Kysely<Database>) {}

  findByDigest(key: ArtifactKey, digest: string, db: Kysely<Database> = this.db): Promise<ArtifactRow | undefined> {
    return db
      .selectFrom("artifacts")
      .selectAll()
      .where("project", "=", key.project)
      .where("kind", "=", key.kind)
      .where("name", "=", key.name)
      .where("digest", "=", digest)
      .executeTakeFirst();
  }

  find(key: ArtifactKey, ref: ArtifactRef): Promise<ArtifactRow | undefined> {
    let q = this.db
      .selectFrom("artifacts")
      .selectAll()
      .where("project", "=", key.project)
      .where("kind", "=", key.kind)
      .where("name", "=", key.name);
    if (ref.by === "version") q = q.where("version", "=", ref.version);
    else if (ref.by === "digest") q = q.where("digest", "=", ref.digest);
    else q = q.orderBy("version", "desc").limit(1);
    return q.executeTakeFirst();
  }

  /** Versions newest first, without content; `before` is a version number (the cursor). */
  list(key: ArtifactKey, options: { before?: number; limit: number }) {
    let q = this.db
      .selectFrom("artifacts")
      .select(["kind", "name", "version", "digest", "size", "annotations", "created_at", "created_by"])
      .where("project", "=", key.project)
      .where("kind", "=", key.kind)
      .where("name", "=", key.name)
      .orderBy("version", "desc")
      .limit(options.limit);
    if (options.before !== undefined) q = q.where("version", "<", options.before);
    return q.execute();
  }

  /**
   * Inserts the next version. Two concurrent publishers may pick the same number; the loser
   * gets a unique violation (23505) and the service retries, finding the winner's row if the
   * content was the same.
   */
  async insertNextVersion(
    db: Kysely<Database>,
    row: ArtifactKey & { digest: string; size: number; content: string; annotations: Record<string, string>; createdBy: string },
  ): Promise<ArtifactRow> {
    const next = await db
      .selectFrom("artifacts")
      .select(sql<number>`coalesce(max(version), 0) + 1`.as("next"))
      .where("project", "=", row.project)
      .where("kind", "=", row.kind)
      .where("name", "=", row.name)
      .executeTakeFirstOrThrow();
    return db
      .insertInto("artifacts")
      .values({
        project: row.project,
        kind: row.kind,
        name: row.name,
        version: Number(next.next),
        digest: row.digest,
        size: row.size,
        content: row.content,
        annotations: JSON.stringify(row.annotations),
        created_by: row.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
