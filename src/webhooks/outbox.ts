import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { WebhookEvent, WebhookPayload } from "./events.js";

/**
 * Listeners told when this process enqueued deliveries, so a local worker starts at once
 * instead of at its next poll. Other instances find the rows by polling. The set is filled only
 * by `onLocalEnqueue` (no work at import time).
 */
const localEnqueueListeners = new Set<() => void>();

export function onLocalEnqueue(listener: () => void): () => void {
  localEnqueueListeners.add(listener);
  return () => localEnqueueListeners.delete(listener);
}

export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString("hex")}`;
}

/**
 * Writes one outbox row per webhook of `project` subscribed to `event`. Call it INSIDE the
 * transaction of the change it announces: the event then exists exactly when the change
 * commits, and a crash before delivery loses nothing. Returns the number of rows written.
 *
 * The subscribed webhooks are read FOR KEY SHARE so a concurrent webhook delete waits for this
 * transaction instead of failing it with a foreign-key error.
 */
export async function enqueueEvent(
  trx: Kysely<Database>,
  input: { project: string; event: WebhookEvent; data: unknown; at?: Date },
): Promise<number> {
  const hooks = await trx
    .selectFrom("webhooks")
    .select("id")
    .where("project", "=", input.project)
    .where(sql<boolean>`${input.event} = any(events)`)
    .orderBy("seq")
    .forKeyShare()
    .execute();
  if (hooks.length === 0) return 0;
  const payload: WebhookPayload = {
    event: input.event,
    project: input.project,
    at: (input.at ?? new Date()).toISOString(),
    data: input.data ?? null,
  };
  const body = JSON.stringify(payload);
  await trx
    .insertInto("webhook_outbox")
    .values(hooks.map((h) => ({ id: newDeliveryId(), webhook_id: h.id, project: input.project, event: input.event, body })))
    .execute();
  // Told before the commit: the worker polls again shortly after a kick (see DeliveryWorker.kick).
  for (const listener of localEnqueueListeners) listener();
  return hooks.length;
}
