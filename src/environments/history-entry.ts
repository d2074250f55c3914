import type { HistoryPageEntry, HistoryRecord } from "./ports.js";

/** A history record as clients see it (openapi: HistoryEntry): the API's fields in its order, `at` as ISO 8601. */
export function presentHistory(row: HistoryRecord): HistoryPageEntry {
  return {
    revision: row.revision,
    action: row.action,
    version_set: row.version_set,
    previous: row.previous,
    actor: row.actor,
    reason: row.reason,
    trace_id: row.trace_id,
    detail: row.detail ?? null,
    at: row.at.toISOString(),
  };
}
