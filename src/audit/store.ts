import { sql, type Kysely, type Selectable } from "kysely";
import type { AuditLogTable, Database } from "../db/schema.js";
import type { Actor } from "../core/actor.js";

export interface AuditEntry {
  project: string | null;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

export type AuditRow = Selectable<AuditLogTable>;

export interface AuditQuery {
  /** A project's entries; `undefined` for every entry, including those about no project (tokens). */
  project?: string;
  action?: string;
  /** The token name that made the change. */
  actor?: string;
  /** Exact target, or every target starting with it when it ends with `*` (`environment/prod*`). */
  target?: string;
  traceId?: string;
  since?: Date;
  until?: Date;
  /**
   * Only these environments' entries among those about an environment (targets
   * `environment/<name>…`, evidence packs by their `after.environment`); entries about no
   * environment are kept. Undefined: every environment.
   */
  environments?: string[];
  /** `seq` of the last entry of the previous page. */
  before?: number;
  limit: number;
}

/**
 * Appends one audit row. Callers pass their transaction so the row commits (or not) with the
 * change it describes. Values must already be free of secrets.
 */
export async function recordAudit(db: Kysely<Database>, actor: Actor, entry: AuditEntry): Promise<void> {
  await db
    .insertInto("audit_log")
    .values({
      project: entry.project,
      actor: actor.name,
      actor_token_id: actor.tokenId,
      action: entry.action,
      target: entry.target,
      before: entry.before === undefined ? null : JSON.stringify(entry.before),
      after: entry.after === undefined ? null : JSON.stringify(entry.after),
      trace_id: actor.traceId,
      client_address: actor.clientAddress,
    })
    .execute();
}

/** Newest first by `seq` (the append order), which is also commit-safe for paging. */
export function listAudit(db: Kysely<Database>, query: AuditQuery): Promise<AuditRow[]> {
  let q = db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").limit(query.limit);
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
