import type { Kysely } from "kysely";
import { MemoryTables } from "../../src/core/memory-tables.js";
import type { Transactions } from "../../src/core/transaction.js";
import type { Database } from "../../src/db/schema.js";
import { KyselyTransactions } from "../../src/db/transactions.js";
import { createTestDatabase, databaseBackends } from "./databases.js";

/** One implementation of a domain's stores, opened fresh for one contract run. */
export interface StoreBackend<S> {
  name: string;
  open(): Promise<OpenStores<S>>;
}

export interface OpenStores<S> {
  stores: S;
  transactions: Transactions;
  close(): Promise<void>;
}

/**
 * The three implementations every store contract runs on: PGlite, real Postgres (when
 * PINSET_TEST_DATABASE_URL is set) and the memory fakes. `build` makes the domain's stores (and
 * any other domain's stores its contract needs as fixtures) on each.
 */
export function storeBackends<S>(build: { kysely(db: Kysely<Database>): S; memory(tables: MemoryTables): S }): StoreBackend<S>[] {
  const sql = databaseBackends().map(
    (backend): StoreBackend<S> => ({
      name: backend === "pglite" ? "PGlite" : "Postgres",
      async open() {
        const { handle, drop } = await createTestDatabase(backend);
        return { stores: build.kysely(handle.db), transactions: new KyselyTransactions(handle.db), close: drop };
      },
    }),
  );
  const memory: StoreBackend<S> = {
    name: "memory",
    async open() {
      const tables = new MemoryTables();
      return { stores: build.memory(tables), transactions: tables, close: async () => {} };
    },
  };
  return [...sql, memory];
}
