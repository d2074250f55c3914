import { sql, type Kysely, type Selectable } from "kysely";
import type { ArtifactsTable, Database } from "../db/schema.js";

export type ArtifactRow = Selectable<ArtifactsTable>;

/** The advisory-lock class of "version numbering of one artifact name" (an arbitrary int4). */
const PUBLISH_LOCK_CLASS = 7_400_001;

/** Waiting for lockName took longer than its lock_timeout. */
export function isLockTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "55P03";
}

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
      .select(["kind", "name", "version", "digest", "size", "annotations", "created_at", "created_by", "retired_at"])
      .where("project", "=", key.project)
      .where("kind", "=", key.kind)
      .where("name", "=", key.name)
      .orderBy("version", "desc")
      .limit(options.limit);
    if (options.before !== undefined) q = q.where("version", "<", options.before);
    return q.execute();
  }

  /**
   * Serialises version numbering for one name until the transaction ends: a transaction-scoped
   * advisory lock keyed by the name (two-key form, in a class of its own, so it never meets the
   * migrator's single-key lock; a hash collision only makes two names queue together). A
   * publisher waits here for the one before it to commit instead of racing it to the same number;
   * waiting longer than `lockTimeoutMs` fails with SQLSTATE 55P03 (see isLockTimeout).
   */
  async lockName(db: Kysely<Database>, key: ArtifactKey, lockTimeoutMs: number): Promise<void> {
    // SET cannot take a bind parameter; the value is an integer we produced.
    await sql.raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`).execute(db);
    const id = `${key.project}/${key.kind}/${key.name}`;
    await sql`select pg_advisory_xact_lock(${PUBLISH_LOCK_CLASS}, hashtext(${id}))`.execute(db);
  }

  /**
   * Inserts the next version. Callers hold lockName for the name, so no concurrent publisher of
   * this version of the code picks the same number; the (project, kind, name, version) key
   * still guards against anything that does not take the lock.
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

  /** The blobs a new version references (index files): what keeps their bytes alive (src/gc). */
  async insertBlobReferences(db: Kysely<Database>, row: ArtifactKey & { version: number }, digests: string[]): Promise<void> {
    for (let i = 0; i < digests.length; i += 1000) {
      await db
        .insertInto("artifact_blobs")
        .values(digests.slice(i, i + 1000).map((digest) => ({ project: row.project, kind: row.kind, name: row.name, version: row.version, digest })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }
}
