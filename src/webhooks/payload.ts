import { randomBytes } from "node:crypto";
import type { WebhookPayload } from "./events.js";
import type { OutboxEvent } from "./ports.js";

export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString("hex")}`;
}

/** The payload every subscribed webhook gets, serialised once at enqueue time (it is signed as sent). */
export function outboxBody(input: OutboxEvent): string {
  const payload: WebhookPayload = { event: input.event, project: input.project, at: (input.at ?? new Date()).toISOString(), data: input.data ?? null };
  return JSON.stringify(payload);
}
