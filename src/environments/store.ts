import { sql, type Kysely } from "kysely";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";
import type { Database, EnvironmentHistoryTable, EnvironmentsTable } from "../db/schema.js";
import { compiledOnce, type Arg } from "../db/compiled-once.js";
import { everyColumn } from "../db/every-column.js";
import { queryOf } from "../db/transactions.js";
import { ENVIRONMENT_CHANNEL } from "./channel.js";
import type {
  EnvironmentRecord,
  EnvironmentStore,
  HistoryPageEntry,
  HistoryRecord,
  LockedEnvironment,
  NewRevision,
  RolloutOfEnvironment,
} from "./ports.js";

/** Whole rows, by name (statements built once are prepared: db/prepared-statements.ts). */
const ENVIRONMENT_COLUMNS = everyColumn<EnvironmentsTable>()(["seq", "project", "name", "active", "revision", "protected", "frozen", "fallback", "created_at", "updated_at"]);
const HISTORY_COLUMNS = everyColumn<EnvironmentHistoryTable>()([
  "project",
  "environment",
  "revision",
  "action",
  "version_set",
  "previous",
  "actor",
  "actor_token_id",
  "reason",
  "trace_id",
  "detail",
  "at",
]);
const findEnvironment = compiledOnce<EnvironmentKey, EnvironmentRecord>((db, arg) =>
  db.selectFrom("environments").select(ENVIRONMENT_COLUMNS).where("project", "=", arg("project")).where("name", "=", arg("environment")),
);
type PageArgs = EnvironmentKey & { limit: number };
const newestHistory = (db: Kysely<Database>, arg: Arg<PageArgs>) =>
  db.selectFrom("environment_history").select(HISTORY_COLUMNS).where("project", "=", arg("project")).where("environment", "=", arg("environment")).orderBy("revision", "desc").limit(arg("limit"));
const recordsPage = compiledOnce<PageArgs, HistoryRecord>(newestHistory);
const recordsPageBefore = compiledOnce<PageArgs & { before: number }, HistoryRecord>((db, arg) => newestHistory(db, arg).where("revision", "<", arg("before")));
/** The page's columns in the API's order; `at` as Date.toISOString writes it (to_char's MS truncates, as Date does). */
const pageEntries = (db: Kysely<Database>, arg: Arg<PageArgs>) =>
  db
    .selectFrom("environment_history")
    .select(["revision", "action", "version_set", "previous", "actor", "reason", "trace_id", "detail", sql<string>`to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as("at")])
    .where("project", "=", arg("project"))
    .where("environment", "=", arg("environment"))
    .orderBy("revision", "desc")
    .limit(arg("limit"));
const entriesPage = compiledOnce<PageArgs, HistoryPageEntry>(pageEntries);
const entriesPageBefore = compiledOnce<PageArgs & { before: number }, HistoryPageEntry>((db, arg) => pageEntries(db, arg).where("revision", "<", arg("before")));

export class KyselyEnvironmentStore implements EnvironmentStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(key: EnvironmentKey, tx?: Tx): Promise<EnvironmentRecord | undefined> {
    return (await findEnvironment(queryOf(this.db, tx), key))[0];
  }

  findActive(key: EnvironmentKey): Promise<{ active: string | null; revision: number } | undefined> {
    return this.db
      .selectFrom("environments")
      .select(["active", "revision"])
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .executeTakeFirst();
  }

  async environmentExists(key: EnvironmentKey, tx?: Tx): Promise<boolean> {
    const row = await queryOf(this.db, tx)
      .selectFrom("environments")
      .select("seq")
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .executeTakeFirst();
    return row !== undefined;
  }

  list(project: string, options: { names: "*" | readonly string[]; before?: number; limit: number }): Promise<EnvironmentRecord[]> {
    if (options.names !== "*" && options.names.length === 0) return Promise.resolve([]);
    let q = this.db.selectFrom("environments").selectAll().where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.names !== "*") q = q.where("name", "in", options.names);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  insertIfAbsent(tx: Tx, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRecord | undefined> {
    return queryOf(this.db, tx)
      .insertInto("environments")
      .values({ project: key.project, name: key.environment, active: null, protected: isProtected })
      .onConflict((oc) => oc.columns(["project", "name"]).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  setProtected(tx: Tx, key: EnvironmentKey, isProtected: boolean): Promise<EnvironmentRecord | undefined> {
    return queryOf(this.db, tx)
      .updateTable("environments")
      .set({ protected: isProtected })
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .where("protected", "<>", isProtected)
      .returningAll()
      .executeTakeFirst();
  }

  async setFallback(tx: Tx, key: EnvironmentKey, fallback: string | null): Promise<void> {
    await queryOf(this.db, tx).updateTable("environments").set({ fallback }).where("project", "=", key.project).where("name", "=", key.environment).execute();
  }

  lockEnvironment(tx: Tx, key: EnvironmentKey): Promise<LockedEnvironment | undefined> {
    return queryOf(this.db, tx)
      .selectFrom("environments")
      .select(["name", "active", "revision", "frozen", "protected", "fallback"])
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .forUpdate()
      .executeTakeFirst();
  }

  async writeRevision(tx: Tx, key: EnvironmentKey, change: NewRevision): Promise<EnvironmentRecord> {
    const trx = queryOf(this.db, tx);
    const row = await trx
      .updateTable("environments")
      .set({
        active: change.active,
        revision: change.revision,
        updated_at: sql<Date>`clock_timestamp()`,
        ...(change.frozen !== undefined ? { frozen: change.frozen } : {}),
      })
      .where("project", "=", key.project)
      .where("name", "=", key.environment)
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto("environment_history")
      .values({
        project: key.project,
        environment: key.environment,
        revision: change.revision,
        action: change.action,
        version_set: change.active,
        previous: change.previous,
        actor: change.actor,
        actor_token_id: change.actor_token_id,
        reason: change.reason,
        trace_id: change.trace_id,
        detail: change.detail === undefined ? null : JSON.stringify(change.detail),
        // The very instant the environment row got (microseconds): a watch replay rebuilds the
        // environment's `updated_at` from this entry.
        at: sql<Date>`(select updated_at from environments where project = ${key.project} and name = ${key.environment})`,
      })
      .execute();
    return row;
  }

  async announce(tx: Tx, payload: string): Promise<void> {
    await sql`select pg_notify(${ENVIRONMENT_CHANNEL}, ${payload})`.execute(queryOf(this.db, tx));
  }

  history(key: EnvironmentKey, options: { before?: number; limit: number }, tx?: Tx): Promise<HistoryRecord[]> {
    const db = queryOf(this.db, tx);
    return options.before === undefined ? recordsPage(db, { ...key, limit: options.limit }) : recordsPageBefore(db, { ...key, limit: options.limit, before: options.before });
  }

  historyPage(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<HistoryPageEntry[]> {
    return options.before === undefined ? entriesPage(this.db, { ...key, limit: options.limit }) : entriesPageBefore(this.db, { ...key, limit: options.limit, before: options.before });
  }

  historyAfter(key: EnvironmentKey, after: number, limit: number): Promise<HistoryRecord[]> {
    return this.db
      .selectFrom("environment_history")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("revision", ">", after)
      .orderBy("revision", "asc")
      .limit(limit)
      .execute();
  }

  lastOf(key: EnvironmentKey, atOrBefore: number, actions: readonly string[]): Promise<HistoryRecord | undefined> {
    if (actions.length === 0) return Promise.resolve(undefined);
    return this.db
      .selectFrom("environment_history")
      .selectAll()
      .where("project", "=", key.project)
      .where("environment", "=", key.environment)
      .where("revision", "<=", atOrBefore)
      .where("action", "in", actions)
      .orderBy("revision", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * Ordered by `at` so the (project, environment, at DESC) index finds it in one step whatever
   * the history's length (ordered by revision, Postgres walked the primary key back from the
   * newest entry, discarding every one after `at`). Entries are written under the
   * environment's row lock, so `at` rises with the revision.
   */
  entryAt(key: EnvironmentKey, at: Date): Promise<HistoryRecord | undefined> {
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

  async percentChanges(rollout: RolloutOfEnvironment, tx?: Tx): Promise<Array<{ at: Date; percent: number }>> {
    const rows = await queryOf(this.db, tx)
      .selectFrom("environment_history")
      .select(["at", "action", "detail"])
      .where("project", "=", rollout.project)
      .where("environment", "=", rollout.environment)
      .where("action", "in", ["rollout_start", "advance"])
      .where(sql<string>`detail->>'rollout'`, "=", rollout.id)
      .orderBy("revision")
      .execute();
    return percentsOf(rows);
  }

  historyOf(rollout: RolloutOfEnvironment, tx?: Tx): Promise<HistoryRecord[]> {
    return queryOf(this.db, tx)
      .selectFrom("environment_history")
      .selectAll()
      .where("project", "=", rollout.project)
      .where("environment", "=", rollout.environment)
      .where(sql<string>`detail->>'rollout'`, "=", rollout.id)
      .orderBy("revision")
      .execute();
  }
}

/** A rollout's start and advance entries as the percent each set (entries without one are skipped). */
export function percentsOf(rows: Array<Pick<HistoryRecord, "at" | "action" | "detail">>): Array<{ at: Date; percent: number }> {
  return rows.flatMap((r) => {
    const detail = (r.detail ?? {}) as { percent?: unknown; to_percent?: unknown };
    const percent = r.action === "rollout_start" ? detail.percent : detail.to_percent;
    return typeof percent === "number" ? [{ at: r.at, percent }] : [];
  });
}
