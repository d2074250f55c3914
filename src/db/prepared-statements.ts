/**
 * The statements the registry runs as named (server-side prepared) statements on Postgres: the
 * ones built once (compiled-once.ts), which most requests make. A named statement is parsed and
 * planned by the server once per connection; an unnamed one, pg's default, on every call. On the
 * diff route that was about half of Postgres' CPU per request (docs/performance.md).
 *
 * Names are per process and per statement text; pg keeps, per connection, which names the
 * server has parsed, and parses a name again on a connection that has not seen it.
 */
const names = new Map<string, string>();

/**
 * A `*` in a column list. A prepared statement keeps the row type it was planned with: when a
 * newer instance's migration adds a column during a rolling upgrade, Postgres re-plans the
 * statement and refuses a wildcard's longer row ("cached plan must not change result type").
 * Named columns keep their row.
 */
const WILDCARD = /(?:\bselect(?:\s+distinct)?|\breturning|,)\s*\*|\.\*/i;

/** Gives `sql` its statement name (the same one on every call); refuses a column wildcard. */
export function nameStatement(sql: string): string {
  let name = names.get(sql);
  if (name !== undefined) return name;
  if (WILDCARD.test(sql)) {
    throw new Error(`a prepared statement names its columns (selectAll/returningAll keep a stale row type across a migration): ${sql}`);
  }
  name = `pinset_${names.size + 1}`;
  names.set(sql, name);
  return name;
}

/** The name `sql` runs under, or undefined for a statement sent unnamed. */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}
