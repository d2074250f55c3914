import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { Actor } from "../http/context.js";

export interface AuditEntry {
  project: string | null;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
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
