import { AsyncLocalStorage } from "node:async_hooks";

/**
 * How long request-path database work may take (config.ts: `PINSET_DB_*`). A budget counts from
 * the moment a statement is asked for, so waiting for a pooled connection is part of it; the
 * wait for a connection alone is also capped by `acquireMs`. Enforced by the client (see
 * budgeted-pool.ts): a database whose processes are stopped never answers, so its own
 * `statement_timeout` never fires.
 */
export interface DatabaseBudgets {
  /** A statement outside a transaction that only reads (`select`, …). */
  readMs: number;
  /** Each statement of a transaction, and a write outside one. Also the server's `statement_timeout`. */
  writeMs: number;
  /** Waiting for a connection (the pool's queue, or opening a new one). */
  acquireMs: number;
}

export const DEFAULT_DATABASE_BUDGETS: Readonly<DatabaseBudgets> = Object.freeze({ readMs: 1_000, writeMs: 5_000, acquireMs: 5_000 });

/** `code` of DatabaseTimeoutError, so `isDatabaseUnavailable` needs no import of this class. */
export const DATABASE_TIMEOUT_CODE = "PINSET_DB_TIMEOUT";

/**
 * - `acquire`: no connection within the budget.
 * - `statement`: a statement got no answer within its budget; its connection was discarded.
 * - `not_answering`: refused at once, because the database has answered nothing since an
 *   earlier time-out and another request is already finding out whether it is back.
 */
export type TimeoutPhase = "acquire" | "statement" | "not_answering";

/**
 * A statement's effect when it timed out: `none` (a read, or a statement of a transaction that
 * never committed: the server rolls it back when it sees the connection closed) or `unknown`
 * (a `commit`, or a write outside a transaction, that may have been applied before the answer
 * was lost).
 */
export type TimeoutOutcome = "none" | "unknown";

export class DatabaseTimeoutError extends Error {
  readonly code = DATABASE_TIMEOUT_CODE;

  constructor(
    readonly phase: TimeoutPhase,
    readonly budgetMs: number,
    readonly outcome: TimeoutOutcome = "none",
  ) {
    super(describe(phase, budgetMs, outcome));
    this.name = "DatabaseTimeoutError";
  }
}

function describe(phase: TimeoutPhase, budgetMs: number, outcome: TimeoutOutcome): string {
  const ms = Math.round(budgetMs);
  if (phase === "acquire") return `No database connection became available within ${ms} ms; nothing was written`;
  if (phase === "not_answering") return "The database is not answering (an earlier query got no answer); nothing was written";
  if (outcome === "unknown") return `The database did not confirm the write within ${ms} ms: it may or may not have been applied; read before retrying`;
  return `The database did not answer within ${ms} ms; nothing was written`;
}

const scope = new AsyncLocalStorage<number>();
/** withDatabaseBudget calls whose work has not settled yet. */
let active = 0;

/**
 * Runs `work` with every statement's budget (and connection wait) capped at `ms`: the callers
 * that hold a better answer than waiting (the last bundle, a cached token, "not ready") use it
 * to stop waiting sooner. Nested caps take the smaller. The cap is relative (per statement), so
 * shared work started here that outlives the caller (a watch topic's refresh) only gets shorter
 * budgets, never a deadline already past. On PGlite in its worker thread the cap bounds the wait
 * for the single session (such a caller goes ahead of ordinary ones) and for each answer
 * (pglite-worker-dialect.ts); on PGlite in this thread it has no effect.
 *
 * The scope is switched off again when the last capped work settles. On Node 20 an enabled
 * AsyncLocalStorage runs a hook at every promise the process creates — about three times the
 * cost of a bare promise, on every request (kysely, pg and express create hundreds per request),
 * while a cap is in force only around the rare calls that hold a fallback (a stale token's
 * re-check, a resolve or watch refresh that may answer from memory). A cap is only ever read by
 * statements that work started and awaits (no promise is left un-awaited), so none is lost.
 */
export function withDatabaseBudget<T>(ms: number | undefined, work: () => Promise<T>): Promise<T> {
  if (ms === undefined) return work();
  const outer = scope.getStore();
  active++;
  let running: Promise<T>;
  try {
    running = scope.run(outer === undefined ? ms : Math.min(outer, ms), work);
  } catch (err) {
    leave();
    throw err;
  }
  return running.finally(leave);
}

function leave(): void {
  active--;
  // disable(): getStore() answers undefined and the promise hook is removed, until the next run().
  if (active === 0) scope.disable();
}

/** The cap of the current withDatabaseBudget scope, if any. */
export function budgetCap(): number | undefined {
  return scope.getStore();
}
