import type { Actor } from "../core/actor.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { AuditEntry, AuditQuery, AuditRecord, AuditStore } from "./ports.js";

interface AuditTable {
  seq: number;
  rows: AuditRecord[];
}

/** The audit log in memory, for service unit tests; kept honest by test/contract/audit-store.ts. */
export class MemoryAuditStore implements AuditStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): AuditTable {
    return this.tables.table<AuditTable>("audit_log", () => ({ seq: 0, rows: [] }));
  }

  async record(_tx: Tx, actor: Actor, entry: AuditEntry): Promise<void> {
    const table = this.table;
    table.rows.push({
      seq: ++table.seq,
      project: entry.project,
      at: new Date(),
      actor: actor.name,
      actor_token_id: actor.tokenId,
      action: entry.action,
      target: entry.target,
      // Stored as JSON, read back parsed: the same round trip as the jsonb column.
      before: entry.before === undefined ? null : JSON.parse(JSON.stringify(entry.before)),
      after: entry.after === undefined ? null : JSON.parse(JSON.stringify(entry.after)),
      trace_id: actor.traceId,
      client_address: actor.clientAddress,
    });
  }

  async list(query: AuditQuery): Promise<AuditRecord[]> {
    const prefix = query.target?.endsWith("*") ? query.target.slice(0, -1) : undefined;
    const matches = (row: AuditRecord): boolean =>
      (query.project === undefined || row.project === query.project) &&
      (query.action === undefined || row.action === query.action) &&
      (query.actor === undefined || row.actor === query.actor) &&
      (query.traceId === undefined || row.trace_id === query.traceId) &&
      (query.target === undefined || (prefix === undefined ? row.target === query.target : row.target.startsWith(prefix))) &&
      (query.since === undefined || row.at >= query.since) &&
      (query.until === undefined || row.at < query.until) &&
      (query.before === undefined || row.seq < query.before) &&
      (query.environments === undefined || visibleTo(row, query.environments));
    return this.table.rows
      .filter(matches)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, query.limit)
      .map((row) => structuredClone(row));
  }
}

/** The SQL store's environment filter: entries about another environment are hidden, the rest kept. */
function visibleTo(row: AuditRecord, environments: string[]): boolean {
  if (row.target.startsWith("environment/") && !environments.includes(row.target.split("/")[1] ?? "")) return false;
  if (row.target.startsWith("evidence/")) {
    const after = row.after as { environment?: unknown } | null;
    if (typeof after?.environment !== "string" || !environments.includes(after.environment)) return false;
  }
  return true;
}
