import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import { budgetCap, DatabaseTimeoutError } from "./budgets.js";
import type { PgliteWorkerClient } from "./pglite-worker-client.js";
import { SessionWaitTimeout, type SessionRelease } from "./session-lock.js";

/**
 * kysely over the embedded database's worker thread (pglite-worker-client.ts): Postgres SQL,
 * one connection — PGlite's single session. A connection holds its turn at the session from
 * acquire until its last statement is sent (a statement outside a transaction, or the
 * transaction's commit or rollback), so a transaction's statements run back to back and every
 * other statement (and LISTEN) runs after its end, as on the in-thread PGlite dialect; the
 * worker runs requests in the order they were sent. Time budgets: only
 * withDatabaseBudget's caps apply (see acquireConnection); the request-path budgets of
 * Postgres mode (budgets.ts) do not, as they never did on PGlite.
 */
export class PgliteWorkerDialect implements Dialect {
  constructor(private readonly client: PgliteWorkerClient) {}

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PgliteWorkerDriver(this.client);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

const READ = /^\s*(select|values|table|show|explain)\b/i;
const COMMIT = /^\s*(commit|end)\s*;?\s*$/i;
const ROLLBACK = /^\s*(rollback|abort)\s*;?\s*$/i;
const BEGIN = /^\s*(begin|start\s+transaction)\b/i;

class PgliteWorkerConnection implements DatabaseConnection {
  inTransaction = false;
  /**
   * A transaction's opening statement not sent yet: it travels with the transaction's first
   * statement (one round trip to the worker fewer). A transaction that ends before any statement
   * ran sends neither it nor its commit or rollback: nothing was done on the session.
   */
  pendingBegin: string | undefined;
  /** A transaction opened by a raw `begin` on this connection (not kysely's): the turn is kept until its end. */
  private rawTransaction = false;
  /** The last statement sent: settles when the worker has answered it. */
  private unanswered: Promise<unknown> | undefined;

  constructor(
    private readonly client: PgliteWorkerClient,
    /** This connection's turn at the session; undefined once passed on. */
    private turn: SessionRelease | undefined,
    /** Another turn, for a statement after the turn was passed on (a connection used for several). */
    private readonly takeTurn: () => Promise<SessionRelease>,
    /** withDatabaseBudget's cap: each statement's answer is awaited this long at most. */
    private readonly capMs: number | undefined,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    this.turn ??= await this.takeTurn();
    const begin = this.pendingBegin;
    this.pendingBegin = undefined;
    const answer = this.client.query(compiled.sql, compiled.parameters, begin);
    this.unanswered = answer.then(
      () => {},
      () => {},
    );
    // Sent, and nothing of this holder's can follow it (a statement outside a transaction, or the
    // transaction's end): the next holder may send now; the worker runs it after this one.
    const ends = COMMIT.test(compiled.sql) || ROLLBACK.test(compiled.sql);
    if (!this.inTransaction) this.rawTransaction = ends ? false : this.rawTransaction || BEGIN.test(compiled.sql);
    if ((!this.inTransaction && !this.rawTransaction) || ends) this.passTurn();
    const { rows, affectedRows } = this.capMs === undefined ? await answer : await this.within(answer, this.capMs, compiled.sql);
    // As kysely-pglite-dialect reports it: a count only when rows were affected.
    return affectedRows ? { rows: rows as R[], numAffectedRows: BigInt(affectedRows) } : { rows: rows as R[] };
  }

  async *streamQuery<R>(compiled: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new Error("chunkSize must be a positive integer");
    const { rows } = await this.executeQuery<R>(compiled);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }

  /**
   * Gives the session back. A statement the caller stopped waiting for may still be running in
   * the worker, and a transaction's rollback may not have run yet: the worker runs requests in
   * the order they were sent, so the next holder's come after them either way.
   */
  release(): void {
    this.passTurn();
  }

  private passTurn(): void {
    const turn = this.turn;
    this.turn = undefined;
    turn?.(this.unanswered);
  }

  /**
   * The answer, or DatabaseTimeoutError after `capMs` (the statement itself runs on: PGlite
   * cannot be interrupted, and its `statement_timeout` never fires in WebAssembly).
   */
  private within<T>(answer: Promise<T>, capMs: number, statement: string): Promise<T> {
    const outcome = COMMIT.test(statement) || (!this.inTransaction && !READ.test(statement)) ? "unknown" : "none";
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseTimeoutError("statement", capMs, outcome)), capMs);
    });
    return Promise.race([answer, timedOut]).finally(() => clearTimeout(timer));
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

class PgliteWorkerDriver implements Driver {
  constructor(private readonly client: PgliteWorkerClient) {}

  async init(): Promise<void> {}

  /**
   * Under withDatabaseBudget (a caller with a better answer than waiting) the turn at the
   * session is urgent and bounded by the cap, as the pool's wait is on Postgres; otherwise it
   * waits as long as it takes, as PGlite always did.
   */
  async acquireConnection(): Promise<DatabaseConnection> {
    const cap = budgetCap();
    const takeTurn =
      cap === undefined
        ? () => this.client.acquireSession()
        : () =>
            this.client.acquireSession({ urgent: true, timeoutMs: cap }).catch((err: unknown) => {
              throw err instanceof SessionWaitTimeout ? new DatabaseTimeoutError("acquire", cap) : err;
            });
    return new PgliteWorkerConnection(this.client, await takeTurn(), takeTurn, cap);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = "begin";
    if (settings.isolationLevel || settings.accessMode) {
      statement = "start transaction";
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    const worker = connection as PgliteWorkerConnection;
    worker.pendingBegin = statement;
    worker.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.endTransaction(connection as PgliteWorkerConnection, "commit");
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.endTransaction(connection as PgliteWorkerConnection, "rollback");
  }

  private async endTransaction(connection: PgliteWorkerConnection, statement: "commit" | "rollback"): Promise<void> {
    try {
      if (connection.pendingBegin === undefined) await connection.executeQuery(CompiledQuery.raw(statement));
    } finally {
      connection.pendingBegin = undefined;
      connection.inTransaction = false;
    }
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PgliteWorkerConnection).release();
  }

  async destroy(): Promise<void> {
    await this.client.close();
  }
}
