import { sql, type Kysely, type Selectable } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Database, EnvironmentHistoryTable, EnvironmentsTable } from "../db/schema.js";
import { RollbackSearch } from "./rollback-target.js";

export type EnvironmentRow = Selectable<EnvironmentsTable>;
export type HistoryRow = Selectable<EnvironmentHistoryTable>;


/** History pages read while searching for a rollback target. */
const ROLLBACK_PAGE = 200;

/**
 * Reads of environments and their history, and the two writes that are not pointer changes
 * (creation and the `protected` flag). The pointer, revision and history are written only by
 * applyEnvironmentChange (change.ts).
 */
export class EnvironmentStore {
  constructor(private readonly db: Kysely<Database>) {}

  find(key: EnvironmentKey, db: Kysely<Database> = this.db): Promise<EnvironmentRow | undefined> {
    return db
      .selectFrom("environments")
      .selectAll()
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .executeTakeFirst();
  }

  /** The resolve hot path's only read: the active set and revision. */
  findActive(key: EnvironmentKey): Promise<{ active: string | null; revision: number } | undefined> {
    return this.db
      .selectFrom("environments")
      .select(["active", "revision"])
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .executeTakeFirst();
  }

  /** Newest first; `names` restricts to the environments a token may see ("*" for all). */
  list(project: string, options: { names: "*" | string[]; before?: number; limit: number }): Promise<EnvironmentRow[]> {
    if (options.names !== "*" && options.names.length === 0) return Promise.resolve([]);
    let q = this.db.selectFrom("environments").selectAll().where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.names !== "*") q = q.where("name", "in", options.names);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  insertIfAbsent(trx: Kysely<Database>, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRow | undefined> {
    return trx
      .insertInto("environments")
      .values({ project: key.project, name: key.environment, active: null, protected: isProtected })
      .onConflict((oc) => oc.columns(["project", "name"]).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  /** Sets the flag; returns the row only when the value actually changed. */
  setProtected(trx: Kysely<Database>, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRow | undefined> {
    return trx
      .updateTable("environments")
      .set({ protected: isProtected })
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .where("protected", "<>", isProtected)
      .returningAll()
      .executeTakeFirst();
  }

  /** Newest first; `before` is a revision (the cursor). */
  history(key: EnvironmentKey, options: { before?: number; limit: number }, db: Kysely<Database> = this.db): Promise<HistoryRow[]> {
    let q = db
      .selectFrom("environment_history")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .orderBy("revision", "desc")
      .limit(options.limit);
    if (options.before !== undefined) q = q.where("revision", "<", options.before);
    return q.execute();
  }

  /**
   * The history entry in force at `at`: the newest one written no later than `at`, compared at
   * millisecond precision (the precision of the `at` values the API shows), so asking for an
   * entry's own `at` returns that entry. Ordered by `at` so the (project, environment, at DESC)
   * index finds it in one step whatever the history's length (ordered by revision, Postgres
   * walked the primary key back from the newest entry, discarding every one after `at`). Entries
   * are written under the environment's row lock, so `at` rises with the revision; revision
   * breaks a tie.
   */
  entryAt(key: EnvironmentKey, at: Date): Promise<HistoryRow | undefined> {
    return this.db
      .selectFrom("environment_history")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("at", "<", sql<Date>`${at.toISOString()}::timestamptz + interval '1 millisecond'`)
      .orderBy("at", "desc")
      .orderBy("revision", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  /** Walks the history (in the caller's transaction) for the rule in rollback-target.ts. */
  async rollbackTarget(trx: Kysely<Database>, key: EnvironmentKey, current: string | null): Promise<string | undefined> {
    const search = new RollbackSearch(current);
    let before: number | undefined;
    for (;;) {
      const rows = await this.history(key, { ...(before !== undefined ? { before } : {}), limit: ROLLBACK_PAGE }, trx);
      for (const row of rows) {
        const found = search.visit(row);
        if (found !== undefined) return found;
      }
      if (rows.length < ROLLBACK_PAGE) return undefined;
      before = rows[rows.length - 1]!.revision;
    }
  }
}
