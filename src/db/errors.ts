import { DATABASE_TIMEOUT_CODE } from "./budgets.js";
import { EMBEDDED_DATABASE_GONE_CODE } from "./pglite-worker-protocol.js";

/** 57014 query_canceled: the server's `statement_timeout` fired (or an operator cancelled the query). */
const STATEMENT_CANCELED = "57014";

/**
 * Postgres error classes that mean "the database is not there right now", not "your query is
 * wrong": 08 connection exceptions, 57P operator intervention (admin/crash shutdown, cannot
 * connect now: starting up or shutting down), 53300 too many connections.
 */
const UNAVAILABLE_SQLSTATE_PREFIXES = ["08", "57P", "53300"];
const UNAVAILABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  DATABASE_TIMEOUT_CODE,
  EMBEDDED_DATABASE_GONE_CODE,
]);
/**
 * What pg and pg-pool say without a code: a connection that died ("Connection terminated
 * unexpectedly", "… due to connection timeout"), the pool's `connectionTimeoutMillis`
 * ("timeout exceeded when trying to connect"), a client used after its connection failed.
 */
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable/i;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== "object" || depth > 3) return false;
  const code = typeof e.code === "string" ? e.code : "";
  if (UNAVAILABLE_NODE_CODES.has(code) || code === STATEMENT_CANCELED) return true;
  if (UNAVAILABLE_SQLSTATE_PREFIXES.some((p) => code.startsWith(p))) return true;
  const message = typeof e.message === "string" ? e.message : "";
  if (UNAVAILABLE_MESSAGES.test(message)) return true;
  // Node's happy-eyeballs connect fails with an AggregateError of one error per address tried.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return e.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}

/**
 * A database time budget ran out: ours (DatabaseTimeoutError, budgets.ts) or the server's
 * `statement_timeout`. Also counts as unavailable, so every fallback to a last known answer
 * treats a database that does not answer like one that refuses.
 */
export function isDatabaseTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === DATABASE_TIMEOUT_CODE || code === STATEMENT_CANCELED;
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505";
}
