import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";
import { AnswerWatch } from "./answer-watch.js";
import { statementName } from "./prepared-statements.js";
import { budgetCap, DatabaseTimeoutError, type DatabaseBudgets, type TimeoutOutcome } from "./budgets.js";

const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const COMMIT = /^\s*(commit|end)\s*;?\s*$/i;
/** A whole-transaction end (not `rollback to savepoint`). */
const END = /^\s*(commit|end|rollback|abort)\s*;?\s*$/i;
const READ = /^\s*(select|values|table|show|explain)\b/i;

const TIMED_OUT = Symbol("timed out");

/**
 * `work`'s result, or TIMED_OUT once `deadline` (performance.now() time) passes. The time-out is
 * decided in a setImmediate after the timer: after an event-loop stall the timer and the
 * answer's bytes are due together, and timers run before I/O, so without that turn a busy
 * process would throw away answers that had already arrived. It is checked against the clock
 * there too: a timer counts from the loop's cached time and can fire early by as long as the
 * current tick has run.
 */
function within<T>(work: Promise<T>, deadline: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    // Whole milliseconds: node keeps one timer list per distinct duration, so statements with the
    // same budget share a list (an append) instead of each making a list of its own in the heap.
    const arm = () => {
      timer = setTimeout(() => setImmediate(check), Math.max(0, Math.ceil(deadline - performance.now())));
    };
    const check = () => {
      if (settled) return;
      if (performance.now() < deadline) return arm();
      settled = true;
      resolve(TIMED_OUT);
    };
    arm();
    work.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function ignoreCheckedOutError(): void {}

/** An error with a SQLSTATE came from the server: an answer, unlike a dropped connection. */
function fromServer(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * 0A000 "cached plan must not change result type": a prepared statement whose row changed under
 * it (a column type altered by another instance's migration). Postgres refuses it on that
 * connection until it is prepared again, which pg never does on its own.
 */
function isStalePlan(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "0A000" && /cached plan must not change result type/.test(String((err as Error).message));
}

/** Released checkouts kept for reuse: more than the pool's connections are never in use at once. */
const IDLE_CHECKOUTS = 64;

/**
 * The pg pool as kysely sees it, with time budgets (budgets.ts) enforced on the client side. A
 * checkout takes its real connection lazily, at its first statement, when it is known whether
 * that is a read (read budget, connection wait included) or a transaction or write (write
 * budget per statement). A statement past its budget gets its connection destroyed, never
 * returned to the pool: the query may still be running (or stuck in a stopped server), and a
 * connection with a query in flight would hang whoever got it next. The server rolls back an
 * uncommitted transaction when it sees the connection closed, so a time-out leaves no
 * half-written state.
 */
export class BudgetedPool implements PostgresPool {
  readonly watch: AnswerWatch;

  /** Whether statements built once run named (prepared-statements.ts); off for a pooler that cannot keep them. */
  readonly prepare: boolean;

  constructor(
    readonly pool: pg.Pool,
    readonly budgets: Readonly<DatabaseBudgets>,
    options: { watch?: AnswerWatch; prepare?: boolean } = {},
  ) {
    this.watch = options.watch ?? new AnswerWatch();
    this.prepare = options.prepare ?? true;
    pool.on("connect", () => this.watch.answered());
  }

  /**
   * Checkouts released and ready again. kysely keys its per-connection objects by the client it
   * is handed (a WeakMap and a WeakSet entry): a new client per statement made both anew on
   * every request, and weak entries are the costliest garbage V8 collects.
   */
  private readonly idle: BudgetedClient[] = [];

  async connect(): Promise<PostgresPoolClient> {
    return this.idle.pop() ?? new BudgetedClient(this);
  }

  /** A released checkout, its state reset, for the next connect (as many as the pool holds connections). */
  reuse(client: BudgetedClient): void {
    if (this.idle.length < IDLE_CHECKOUTS) this.idle.push(client);
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

class BudgetedClient implements PostgresPoolClient {
  private raw: pg.PoolClient | undefined;
  private inTransaction = false;
  /** Set when a statement timed out (or a transaction's plan went stale): the connection is gone, so later statements (kysely's rollback) fail alike. */
  private broken: Error | undefined;
  private probe = false;
  /** Statements started and not yet settled. */
  private inFlight = 0;

  constructor(private readonly owner: BudgetedPool) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // kysely passes a cursor only when the dialect is given a cursor class, which ours is not.
    if (typeof sql !== "string") throw new Error("the budgeted pool does not stream with cursors");
    return this.run<R>(sql, parameters ?? []);
  }

  /**
   * kysely's last use of this checkout. It is handed out again by a later connect unless
   * kysely released it to be destroyed, or a statement of it is still running (statements a
   * failed transaction left behind, say): such a statement still settles on this object, which
   * must then belong to no one else.
   */
  release(destroy?: boolean): void {
    this.endProbe();
    const raw = this.raw;
    this.raw = undefined;
    this.inTransaction = false;
    this.broken = undefined;
    raw?.removeListener("error", ignoreCheckedOutError);
    raw?.release(destroy ? true : undefined);
    // Released to be destroyed, kysely has marked its own connection object for this checkout
    // as discarded for good: a checkout it would know again must be a new one.
    if (!destroy && this.inFlight === 0) this.owner.reuse(this);
  }

  private async run<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
    this.inFlight++;
    try {
      return await this.runStatement<R>(sql, parameters, this.owner.pool.options.max ?? 10);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * `retries`: how many more times a statement refused for a stale plan outside a transaction
   * runs, each on another connection (every connection that prepared it refuses it): as many as
   * the pool has connections.
   */
  private async runStatement<R>(sql: string, parameters: ReadonlyArray<unknown>, retries: number): Promise<PostgresQueryResult<R>> {
    if (this.broken) throw this.broken;
    const { budgets, watch } = this.owner;
    const started = performance.now();
    const begins = !this.inTransaction && BEGIN.test(sql);
    const ends = this.inTransaction && END.test(sql);
    const write = begins || this.inTransaction || !READ.test(sql);
    const budget = Math.min(write ? budgets.writeMs : budgets.readMs, budgetCap() ?? Number.POSITIVE_INFINITY);
    const deadline = started + budget;
    const raw = this.raw ?? (await this.acquire(started, deadline, budget));
    if (begins) this.inTransaction = true;
    // A commit, or a write that commits by itself, may have been applied when its answer is lost.
    const outcome: TimeoutOutcome = write && (!this.inTransaction || COMMIT.test(sql)) ? "unknown" : "none";

    const name = this.owner.prepare ? statementName(sql) : undefined;
    const values = parameters as unknown[];
    const running = name === undefined ? raw.query(sql, values) : raw.query({ name, text: sql, values });
    let answer: Awaited<typeof running> | typeof TIMED_OUT;
    try {
      answer = await within(running, deadline);
    } catch (err) {
      this.endProbe();
      if (ends) this.inTransaction = false;
      if (fromServer(err)) watch.answered();
      if (name !== undefined && isStalePlan(err)) {
        // The connection would refuse this statement from now on. Outside a transaction nothing
        // ran (the plan is checked first), so it runs again here; inside, the transaction is
        // lost and the checkout fails from here on, as after a time-out.
        const inTransaction = this.inTransaction;
        this.discard(err as Error);
        if (!inTransaction && retries > 0) return await this.runStatement<R>(sql, parameters, retries - 1);
        if (inTransaction) this.broken = err as Error;
      }
      throw err;
    }
    this.endProbe();
    if (answer === TIMED_OUT) {
      running.catch(() => {});
      watch.timedOut("statement", started);
      this.broken = new DatabaseTimeoutError("statement", budget, outcome);
      this.discard(this.broken);
      throw this.broken;
    }
    watch.answered();
    if (ends) this.inTransaction = false;
    return answer as unknown as PostgresQueryResult<R>;
  }

  private async acquire(started: number, deadline: number, budget: number): Promise<pg.PoolClient> {
    const { pool, budgets, watch } = this.owner;
    this.probe = watch.admit();
    const until = Math.min(deadline, started + budgets.acquireMs);
    const connecting = pool.connect();
    let got: pg.PoolClient | typeof TIMED_OUT;
    try {
      got = await within(connecting, until);
    } catch (err) {
      this.endProbe();
      throw err;
    }
    if (got === TIMED_OUT) {
      // The connection may still come: it is healthy then, so it goes back to the pool.
      connecting.then(
        (late) => late.release(),
        () => {},
      );
      this.endProbe();
      watch.timedOut("acquire", started);
      throw new DatabaseTimeoutError("acquire", Math.round(until - started));
    }
    if (performance.now() >= deadline) {
      // The wait for the connection used the whole budget: nothing is sent, the connection is fine.
      got.release();
      this.endProbe();
      watch.timedOut("acquire", started);
      throw new DatabaseTimeoutError("acquire", budget);
    }
    // pg-pool removes its 'error' listener while a client is checked out, and pg emits 'error'
    // on a client whose server vanishes mid-query (besides rejecting the query): without a
    // listener that is an uncaught exception that ends the process (seen with the schedule loop
    // querying as the database crashed). The query's own rejection carries the error.
    got.on("error", ignoreCheckedOutError);
    this.raw = got;
    return got;
  }

  /** Destroys the connection (pg ends a client with a query in flight by closing its socket). */
  private discard(err: Error): void {
    const raw = this.raw;
    this.raw = undefined;
    this.inTransaction = false;
    raw?.removeListener("error", ignoreCheckedOutError);
    raw?.release(err);
  }

  private endProbe(): void {
    if (!this.probe) return;
    this.probe = false;
    this.owner.watch.probeDone();
  }
}
