import type { Actor } from "../core/actor.js";
import type { Tx } from "../core/transaction.js";

/** One change to record: what was done to which target, with the values before and after. */
export interface AuditEntry {
  project: string | null;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

/** A recorded entry, as the log keeps it. */
export interface AuditRecord {
  seq: number;
  project: string | null;
  at: Date;
  actor: string;
  actor_token_id: string | null;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  trace_id: string | null;
  client_address: string | null;
}

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
 * What every domain that changes something needs from the audit log: one appended entry, in the
 * transaction of the change it describes, so it commits (or not) with it. Values must already be
 * free of secrets.
 */
export interface AuditRecorder {
  record(tx: Tx, actor: Actor, entry: AuditEntry): Promise<void>;
}

/** The append-only audit log. */
export interface AuditStore extends AuditRecorder {
  /** Newest first by `seq` (the append order, which is also commit-safe for paging). */
  list(query: AuditQuery): Promise<AuditRecord[]>;
}
