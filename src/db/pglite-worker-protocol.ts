/**
 * The messages between the HTTP thread and the embedded database's worker thread
 * (pglite-worker.ts runs PGlite; pglite-worker-client.ts is the HTTP thread's end).
 *
 * The worker posts `ready` once PGlite is open (or `start-failed`), then answers every request
 * by its `id`, in the order the requests arrived: a `result`, an `error` or `done`. A
 * `notification` (LISTEN/NOTIFY) may come at any time; one raised by a statement arrives before
 * that statement's answer, as PGlite calls its listeners before it returns. Values cross by
 * structured clone, so Dates, Uint8Arrays (bytea), bigints and parsed JSON arrive as they left.
 */
export interface PgliteWorkerData {
  /** The data directory; undefined: an in-memory database (tests). */
  dir?: string;
}

/** `code` of EmbeddedDatabaseGoneError (the worker died, or the handle was closed); errors.ts counts it as unavailable. */
export const EMBEDDED_DATABASE_GONE_CODE = "PINSET_EMBEDDED_DB_GONE";

export type WorkerRequest =
  /** `begin`: a transaction's opening statement, run first in the same exchange (pglite-statements.ts). */
  | { type: "query"; id: number; sql: string; params: readonly unknown[]; begin?: string }
  | { type: "listen"; id: number; channel: string }
  | { type: "unlisten"; id: number; channel: string }
  | { type: "close"; id: number };

/** What survives of a Postgres error (the fields pg and PGlite both set), `code` above all. */
export interface SerializedDatabaseError {
  name: string;
  message: string;
  code?: string;
  severity?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  routine?: string;
}

export const SERIALIZED_ERROR_FIELDS = ["code", "severity", "detail", "hint", "position", "where", "schema", "table", "column", "dataType", "constraint", "routine"] as const;

export type WorkerMessage =
  | { type: "ready" }
  | { type: "start-failed"; error: SerializedDatabaseError }
  | { type: "result"; id: number; rows: unknown[]; affectedRows?: number }
  | { type: "error"; id: number; error: SerializedDatabaseError }
  | { type: "done"; id: number }
  | { type: "notification"; channel: string; payload: string };

export function serializeError(err: unknown): SerializedDatabaseError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const out: SerializedDatabaseError = { name: err.name, message: err.message };
  const fields = err as unknown as Record<string, unknown>;
  for (const field of SERIALIZED_ERROR_FIELDS) {
    const value = fields[field];
    if (typeof value === "string") out[field] = value;
  }
  return out;
}
