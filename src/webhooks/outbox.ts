import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { asTx } from "../db/transactions.js";
import type { OutboxEvent } from "./ports.js";
import { KyselyWebhookStore } from "./store.js";

export { onLocalEnqueue } from "./local-kick.js";

/**
 * For code that still holds a Kysely transaction instead of a `Tx` and an `EventOutbox` port
 * (callers in other domains until they take the port through their constructor): the same
 * outbox rows, in the same transaction. New code calls `EventOutbox.enqueue(tx, …)`.
 */
export function enqueueEvent(trx: Kysely<Database>, input: OutboxEvent): Promise<number> {
  return new KyselyWebhookStore(trx).enqueue(asTx(trx), input);
}
