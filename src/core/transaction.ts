declare const txBrand: unique symbol;

/**
 * A transaction in progress, opaque to everyone but the stores. Store methods whose writes must
 * commit (or roll back) together take one; a service opens it with `Transactions.run` and hands
 * it to every store that takes part, across domains, so deploy + history + audit + outbox stay
 * one commit. The SQL stores read it as their query builder, the memory fakes as a marker.
 */
export interface Tx {
  readonly [txBrand]: true;
}

/** Opens transactions: commits when `work` resolves, rolls back when it throws. */
export interface Transactions {
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}
