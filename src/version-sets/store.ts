import type { Kysely } from "kysely";
import { ConflictError } from "../core/errors.js";
import type { Tx } from "../core/transaction.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Database, VersionSetsTable } from "../db/schema.js";
import { compiledOnce } from "../db/compiled-once.js";
import { everyColumn } from "../db/every-column.js";
import { queryOf } from "../db/transactions.js";
import type { NewVersionSet, VersionSetRecord, VersionSetStore } from "./ports.js";

/** A whole row, by name (statements built once are prepared: db/prepared-statements.ts). */
const SET_COLUMNS = everyColumn<VersionSetsTable>()(["seq", "project", "id", "components", "code", "description", "created_by", "created_at"]);
const findOne = compiledOnce<{ project: string; id: string }, VersionSetRecord>((db, arg) =>
  db.selectFrom("version_sets").select(SET_COLUMNS).where("project", "=", arg("project")).where("id", "=", arg("id")),
);
type SetColumns = { project: string; id: string; components: string; code: string | null; description: string | null; created_by: string };
const insertSet = compiledOnce<SetColumns, VersionSetRecord>((db, arg) =>
  db
    .insertInto("version_sets")
    .values({ project: arg("project"), id: arg("id"), components: arg("components"), code: arg("code"), description: arg("description"), created_by: arg("created_by") })
    .returning(SET_COLUMNS),
);
const existingPair = compiledOnce<{ project: string; first: string; second: string }, { id: string }>((db, arg) =>
  db.selectFrom("version_sets").select("id").where("project", "=", arg("project")).where("id", "in", [arg("first"), arg("second")]),
);

export class KyselyVersionSetStore implements VersionSetStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(project: string, id: string, tx?: Tx): Promise<VersionSetRecord | undefined> {
    return (await findOne(queryOf(this.db, tx), { project, id }))[0];
  }

  findMany(project: string, ids: readonly string[], tx?: Tx): Promise<VersionSetRecord[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return queryOf(this.db, tx).selectFrom("version_sets").selectAll().where("project", "=", project).where("id", "in", ids).execute();
  }

  async existingIds(project: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    // Two ids is a diff's question, asked on every diff: its statement is compiled once.
    const rows =
      ids.length === 2
        ? await existingPair(this.db, { project, first: ids[0]!, second: ids[1]! })
        : await this.db.selectFrom("version_sets").select("id").where("project", "=", project).where("id", "in", ids).execute();
    return rows.map((r) => r.id);
  }

  async exists(project: string, id: string, tx?: Tx): Promise<boolean> {
    const row = await queryOf(this.db, tx).selectFrom("version_sets").select("seq").where("project", "=", project).where("id", "=", id).executeTakeFirst();
    return row !== undefined;
  }

  list(project: string, options: { before?: number; limit: number }): Promise<VersionSetRecord[]> {
    let q = this.db.selectFrom("version_sets").selectAll().where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  async insert(tx: Tx, row: NewVersionSet): Promise<VersionSetRecord> {
    try {
      const [inserted] = await insertSet(queryOf(this.db, tx), {
        project: row.project,
        id: row.id,
        components: JSON.stringify(row.components),
        code: row.code === null ? null : JSON.stringify(row.code),
        description: row.description,
        created_by: row.createdBy,
      });
      return inserted!;
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`Version set ${row.id} already exists in project ${row.project}`);
      throw err;
    }
  }
}
