import { randomBytes } from "node:crypto";
import type { WebhookPayload } from "./events.js";
import type { AttemptRecord, AttemptRow, ClaimedDelivery, OutboxEvent } from "./ports.js";

export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString("hex")}`;
}

/** The payload every subscribed webhook gets, serialised once at enqueue time (it is signed as sent). */
export function outboxBody(input: OutboxEvent): string {
  const payload: WebhookPayload = { event: input.event, project: input.project, at: (input.at ?? new Date()).toISOString(), data: input.data ?? null };
  return JSON.stringify(payload);
}

/** The attempt-log row of one finished attempt (its seq is the database's). */
export function attemptRow(delivery: ClaimedDelivery, attempt: AttemptRecord): Omit<AttemptRow, "seq"> {
  return {
    id: `att_${randomBytes(12).toString("hex")}`,
    delivery_id: delivery.id,
    webhook_id: delivery.webhookId,
    event: delivery.event,
    attempt: delivery.attempt,
    status_code: attempt.statusCode,
    error: attempt.error,
    duration_ms: Math.max(0, Math.round(attempt.durationMs)),
    at: attempt.at,
  };
}
