import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { AuditRecord, AuditStore } from "./ports.js";

export interface AuditEntryView {
  at: string;
  project: string | null;
  actor: string;
  actor_token_id: string | null;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  trace_id: string | null;
  client_address: string | null;
}

export function presentAuditEntry(row: AuditRecord): AuditEntryView {
  return {
    at: row.at.toISOString(),
    project: row.project,
    actor: row.actor,
    actor_token_id: row.actor_token_id,
    action: row.action,
    target: row.target,
    before: row.before ?? null,
    after: row.after ?? null,
    trace_id: row.trace_id,
    client_address: row.client_address,
  };
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  /** Exact, or a prefix when it ends with `*`. */
  target?: string;
  trace_id?: string;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: string;
}

/** Reads the append-only audit log; rows are written by each service in its own transaction. */
export class AuditService {
  constructor(private readonly store: AuditStore) {}

  /**
   * `project` undefined lists every entry (the admin view, including token changes).
   * `environments` hides entries about other environments from a token limited to these.
   */
  async list(project: string | undefined, filter: AuditFilter, environments?: string[]): Promise<Page<AuditEntryView>> {
    const rows = await this.store.list({
      project,
      environments,
      action: filter.action,
      actor: filter.actor,
      target: filter.target,
      traceId: filter.trace_id,
      since: filter.since,
      until: filter.until,
      before: decodeCursor(filter.cursor),
      limit: filter.limit + 1,
    });
    return toPage(rows, filter.limit, (r) => r.seq, presentAuditEntry);
  }
}
