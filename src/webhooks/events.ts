/** The events a webhook can subscribe to (API.md → Webhooks). */
export const WEBHOOK_EVENTS = ["environment.changed", "rollout.changed", "artifact.published", "version_set.created", "incident.opened", "incident.mitigated", "incident.closed"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The JSON body of every delivery; it is serialised once, at enqueue time, and signed as sent. */
export interface WebhookPayload {
  event: WebhookEvent;
  project: string;
  /** When the change happened (RFC 3339). */
  at: string;
  data: unknown;
}
