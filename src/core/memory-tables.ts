import { AsyncLocalStorage } from "node:async_hooks";
import type { Transactions, Tx } from "./transaction.js";

/**
 * The memory fakes' shared "database": every fake keeps its rows in a named table here, so one
 * transaction can span several fakes the way one SQL transaction spans several stores.
 *
 * Transactions run one at a time (a queue) and roll back by restoring a structured clone of
 * every table taken when they began. What the fakes do NOT model: isolation (a read outside a
 * transaction sees its uncommitted writes) and row locks (serial transactions need none). The
 * contract suites therefore test results and atomicity, never concurrency; concurrency is tested
 * on the real databases.
 */
export class MemoryTables implements Transactions {
  private tables = new Map<string, unknown>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Set inside a transaction's work: a nested `run` would wait for itself forever. */
  private readonly inside = new AsyncLocalStorage<true>();

  /** The live table `name`, made by `init` on first use. Fakes look it up on every call (a rollback swaps it). */
  table<T>(name: string, init: () => T): T {
    let table = this.tables.get(name) as T | undefined;
    if (table === undefined) {
      table = init();
      this.tables.set(name, table);
    }
    return table;
  }

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.inside.getStore()) return Promise.reject(new Error("nested memory transaction: hand the open Tx along instead"));
    const result = this.queue.then(async () => {
      const before = structuredClone(this.tables);
      try {
        return await this.inside.run(true, () => work(MEMORY_TX));
      } catch (err) {
        this.tables = before;
        throw err;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** The one Tx value the fakes hand out: they need no per-transaction state. */
const MEMORY_TX = Object.freeze({}) as Tx;
