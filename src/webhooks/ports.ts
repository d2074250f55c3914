import type { Tx } from "../core/transaction.js";
import type { WebhookEvent } from "./events.js";

/** A webhook as every read path sees it: the secret is never read back. */
export interface WebhookRecord {
  seq: number;
  id: string;
  project: string;
  url: string;
  events: string[];
  created_by: string | null;
  created_at: Date;
}

export interface NewWebhook {
  id: string;
  project: string;
  url: string;
  events: string[];
  /** The HMAC key as given (signing needs it); stored, never returned. */
  secret: string;
  createdBy: string;
}

/** One logged delivery attempt. */
export interface AttemptRow {
  seq: number;
  id: string;
  delivery_id: string;
  webhook_id: string;
  event: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: Date;
}

/** The webhooks table and the attempt log, as the service reads and writes them. */
export interface WebhookStore {
  insert(tx: Tx, row: NewWebhook): Promise<WebhookRecord>;
  find(project: string, id: string): Promise<WebhookRecord | undefined>;
  /** Newest first; `before` is a seq (the cursor). */
  list(project: string, options: { before?: number; limit: number }): Promise<WebhookRecord[]>;
  /** Deletes the webhook with its outbox rows and attempt log; the deleted webhook, or undefined. */
  delete(tx: Tx, project: string, id: string): Promise<WebhookRecord | undefined>;
  /** Attempts newest first; `before` is a seq (the cursor). */
  listAttempts(webhookId: string, options: { before?: number; limit: number }): Promise<AttemptRow[]>;
  /**
   * Housekeeping (the garbage collector): delivered outbox rows finished, and attempts made,
   * more than `days` ago. The audit log is never pruned.
   */
  prune(days: number): Promise<{ outbox_rows: number; attempts: number }>;
}

export interface OutboxEvent {
  project: string;
  event: WebhookEvent;
  data: unknown;
  /** When the change happened; default now. */
  at?: Date;
}

/**
 * What every domain that announces a change needs from webhooks: one outbox row per webhook of
 * the project subscribed to the event, written in the transaction of the change, so the event
 * exists exactly when the change commits. Returns the number of rows written.
 */
export interface EventOutbox {
  enqueue(tx: Tx, event: OutboxEvent): Promise<number>;
}

/** A delivery a worker holds the lease on, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  project: string;
  event: string;
  body: string;
  /** The attempt this claim makes (1 for the first try). */
  attempt: number;
  url: string;
  /** The HMAC key: only ever passed to signBody, never logged. */
  secret: string;
  /** Identifies this claim; finishing with a stale claim changes nothing. */
  claim: string;
}

export interface AttemptRecord {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  at: Date;
}

export type DeliveryOutcome = { state: "delivered" } | { state: "failed" } | { state: "pending"; nextAttemptAt: Date };

/** The outbox as the delivery worker sees it. */
export interface DeliveryQueue {
  /** Leases up to `limit` due rows (oldest due first) until `now + leaseMs`; rows leased by others are skipped. */
  claim(options: { now: Date; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]>;
  /** Logs the attempt and moves the row on, unless the claim is no longer ours (returns false). */
  finish(delivery: ClaimedDelivery, attempt: AttemptRecord, outcome: DeliveryOutcome): Promise<boolean>;
  /** Gives the row back without counting an attempt (shutdown mid-send). */
  release(delivery: ClaimedDelivery): Promise<void>;
}
