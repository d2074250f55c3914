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
  if (UNAVAILABLE_NODE_CODES.has(code)) return true;
  if (UNAVAILABLE_SQLSTATE_PREFIXES.some((p) => code.startsWith(p))) return true;
  const message = typeof e.message === "string" ? e.message : "";
  if (UNAVAILABLE_MESSAGES.test(message)) return true;
  // Node's happy-eyeballs connect fails with an AggregateError of one error per address tried.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return e.cause !== undefined && isDatabaseUnavailable(e.cause, depth + 1);
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505";
}
