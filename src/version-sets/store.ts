import type { Kysely, Selectable } from "kysely";
import type { Database, PinnedComponentJson, VersionSetsTable } from "../db/schema.js";

export type VersionSetRow = Selectable<VersionSetsTable>;

export interface NewVersionSet {
  project: string;
  id: string;
  components: Record<string, PinnedComponentJson>;
  code: { repo: string; commit: string } | null;
  description: string | null;
  createdBy: string;
}

/** Rows of `version_sets`: inserted once, never updated (ids are content-derived). */
export class VersionSetStore {
  constructor(private readonly db: Kysely<Database>) {}

  find(project: string, id: string, db: Kysely<Database> = this.db): Promise<VersionSetRow | undefined> {
    return db.selectFrom("version_sets").selectAll().where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  /** Both sets in one query (for diff); missing ones are simply absent from the result. */
  findMany(project: string, ids: string[]): Promise<VersionSetRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom("version_sets").selectAll().where("project", "=", project).where("id", "in", ids).execute();
  }

  /** Newest first; `before` is a `seq` (the cursor). */
  list(project: string, options: { before?: number; limit: number }): Promise<VersionSetRow[]> {
    let q = this.db.selectFrom("version_sets").selectAll().where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  /** Plain insert: an existing (project, id) raises 23505, which the service turns into a read-back. */
  insert(db: Kysely<Database>, row: NewVersionSet): Promise<VersionSetRow> {
    return db
      .insertInto("version_sets")
      .values({
        project: row.project,
        id: row.id,
        components: JSON.stringify(row.components),
        code: row.code === null ? null : JSON.stringify(row.code),
        description: row.description,
        created_by: row.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
