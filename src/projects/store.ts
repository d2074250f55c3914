import type { Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { queryOf } from "../db/transactions.js";
import type { ProjectRecord, ProjectStore } from "./ports.js";

export class KyselyProjectStore implements ProjectStore {
  constructor(private readonly db: Kysely<Database>) {}

  find(name: string, tx?: Tx): Promise<ProjectRecord | undefined> {
    return queryOf(this.db, tx).selectFrom("projects").selectAll().where("name", "=", name).executeTakeFirst();
  }

  insertIfAbsent(tx: Tx, name: string, description: string | null): Promise<ProjectRecord | undefined> {
    return queryOf(this.db, tx)
      .insertInto("projects")
      .values({ name, description })
      .onConflict((oc) => oc.column("name").doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  list(options: { names: "*" | readonly string[]; before?: number; limit: number }): Promise<ProjectRecord[]> {
    let q = this.db.selectFrom("projects").selectAll().orderBy("seq", "desc").limit(options.limit);
    if (options.names !== "*") {
      if (options.names.length === 0) return Promise.resolve([]);
      q = q.where("name", "in", options.names);
    }
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }
}
