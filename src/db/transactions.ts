import type { Kysely } from "kysely";
import type { Transactions, Tx } from "../core/transaction.js";
import type { Database } from "./schema.js";

/** Transactions on the Kysely handle: a `Tx` is the Kysely transaction itself. */
export class KyselyTransactions implements Transactions {
  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(asTx(trx)));
  }
}

/** The query builder a store method runs on: the open transaction when given one, else the handle. */
export function queryOf(db: Kysely<Database>, tx: Tx | undefined): Kysely<Database> {
  return tx === undefined ? db : (tx as unknown as Kysely<Database>);
}

/** For code that still holds a Kysely transaction and calls a port: the same object, typed as a Tx. */
export function asTx(trx: Kysely<Database>): Tx {
  return trx as unknown as Tx;
}
