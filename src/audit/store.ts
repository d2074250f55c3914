import { sql, type Insertable, type Kysely } from "kysely";
import type { Actor } from "../core/actor.js";
import type { Tx } from "../core/transaction.js";
import type { AuditLogTable, Database } from "../db/schema.js";
import { compiledOnce } from "../db/compiled-once.js";
import { queryOf } from "../db/transactions.js";
import type { AuditEntry, AuditQuery, AuditRecord, AuditStore } from "./ports.js";

type EntryRow = Pick<Insertable<AuditLogTable>, "project" | "actor" | "actor_token_id" | "action" | "target" | "before" | "after" | "trace_id" | "client_address">;

/** Every write records one entry: the insert is compiled once. */
const insertEntry = compiledOnce<Required<EntryRow>, never>((db, arg) =>
  db.insertInto("audit_log").values({
    project: arg("project"),
    actor: arg("actor"),
    actor_token_id: arg("actor_token_id"),
    action: arg("action"),
    target: arg("target"),
    before: arg("before"),
    after: arg("after"),
    trace_id: arg("trace_id"),
    client_address: arg("client_address"),
  }),
);

export class KyselyAuditStore implements AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(tx: Tx, actor: Actor, entry: AuditEntry): Promise<void> {
    await insertEntry(queryOf(this.db, tx), {
      project: entry.project,
      actor: actor.name,
      actor_token_id: actor.tokenId,
      action: entry.action,
      target: entry.target,
      before: entry.before === undefined ? null : JSON.stringify(entry.before),
      after: entry.after === undefined ? null : JSON.stringify(entry.after),
      trace_id: actor.traceId,
      client_address: actor.clientAddress,
    });
  }

  list(query: AuditQuery): Promise<AuditRecord[]> {
    let q = this.db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").limit(query.limit);
    if (query.project !== undefined) q = q.where("project", "=", query.project);
    if (query.action !== undefined) q = q.where("action", "=", query.action);
    if (query.actor !== undefined) q = q.where("actor", "=", query.actor);
    if (query.traceId !== undefined) q = q.where("trace_id", "=", query.traceId);
    if (query.target !== undefined) {
      const prefix = query.target.endsWith("*") ? query.target.slice(0, -1) : undefined;
      q = prefix === undefined ? q.where("target", "=", query.target) : q.where(sql<boolean>`starts_with(target, ${prefix})`);
    }
    if (query.since !== undefined) q = q.where("at", ">=", query.since);
    if (query.until !== undefined) q = q.where("at", "<", query.until);
    if (query.before !== undefined) q = q.where("seq", "<", query.before);
    const environments = query.environments;
    if (environments !== undefined) {
      q = q.where((eb) =>
        eb.and([
          eb.or([eb("target", "not like", "environment/%"), eb(sql<string>`split_part(target, '/', 2)`, "in", environments)]),
          eb.or([eb("target", "not like", "evidence/%"), eb(sql<string>`after->>'environment'`, "in", environments)]),
        ]),
      );
    }
    return q.execute();
  }
}
