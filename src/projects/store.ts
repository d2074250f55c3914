import type { Kysely, Selectable } from "kysely";
import type { Database, ProjectsTable } from "../db/schema.js";

export type ProjectRow = Selectable<ProjectsTable>;

export class ProjectStore {
  constructor(private readonly db: Kysely<Database>) {}

  find(name: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom("projects").selectAll().where("name", "=", name).executeTakeFirst();
  }

  /** Inserts unless present; returns the row and whether this call created it. */
  async insertIfAbsent(db: Kysely<Database>, name: string, description: string | null): Promise<ProjectRow | undefined> {
    return db
      .insertInto("projects")
      .values({ name, description })
      .onConflict((oc) => oc.column("name").doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** Newest first; `names` restricts to the projects a token may see ("*" for all). */
  list(options: { names: "*" | string[]; before?: number; limit: number }): Promise<ProjectRow[]> {
    let q = this.db.selectFrom("projects").selectAll().orderBy("seq", "desc").limit(options.limit);
    if (options.names !== "*") {
      if (options.names.length === 0) return Promise.resolve([]);
      q = q.where("name", "in", options.names);
    }
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }
}
