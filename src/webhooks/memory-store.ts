import { randomBytes } from "node:crypto";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import { kickLocalWorkers } from "./local-kick.js";
import type {
  AttemptRecord,
  AttemptRow,
  ClaimedDelivery,
  DeliveryOutcome,
  DeliveryQueue,
  EventOutbox,
  NewWebhook,
  OutboxEvent,
  WebhookRecord,
  WebhookStore,
} from "./ports.js";
import { attemptRow, newDeliveryId, outboxBody } from "./payload.js";

interface OutboxRow {
  seq: number;
  id: string;
  webhook_id: string;
  project: string;
  event: string;
  body: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: Date;
  lease_until: Date | null;
  claim: string | null;
  finished_at: Date | null;
}

interface WebhookTables {
  seq: number;
  hooks: Map<string, WebhookRecord & { secret: string }>;
  outbox: OutboxRow[];
  attempts: AttemptRow[];
}

const DAY_MS = 86_400_000;

function publicView(row: WebhookRecord & { secret: string }): WebhookRecord {
  const { secret: _secret, ...rest } = row;
  return { ...rest, events: [...rest.events] };
}

/**
 * Webhooks, their outbox and attempt log in memory, for service and worker unit tests; kept
 * honest by test/contract/webhook-store.ts. Leases are modelled; SKIP LOCKED is not (the fakes
 * run one transaction at a time), so concurrent claiming is tested on the real databases only.
 */
export class MemoryWebhookStore implements WebhookStore, EventOutbox, DeliveryQueue {
  constructor(private readonly tables: MemoryTables) {}

  private get t(): WebhookTables {
    return this.tables.table<WebhookTables>("webhooks", () => ({ seq: 0, hooks: new Map(), outbox: [], attempts: [] }));
  }

  async insert(_tx: Tx, row: NewWebhook): Promise<WebhookRecord> {
    const t = this.t;
    const stored = { seq: ++t.seq, id: row.id, project: row.project, url: row.url, events: [...row.events], secret: row.secret, created_by: row.createdBy, created_at: new Date() };
    t.hooks.set(row.id, stored);
    return publicView(stored);
  }

  async find(project: string, id: string): Promise<WebhookRecord | undefined> {
    const row = this.t.hooks.get(id);
    return row && row.project === project ? publicView(row) : undefined;
  }

  async list(project: string, options: { before?: number; limit: number }): Promise<WebhookRecord[]> {
    return [...this.t.hooks.values()]
      .filter((r) => r.project === project && (options.before === undefined || r.seq < options.before))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map(publicView);
  }

  async delete(_tx: Tx, project: string, id: string): Promise<WebhookRecord | undefined> {
    const t = this.t;
    const row = t.hooks.get(id);
    if (!row || row.project !== project) return undefined;
    t.hooks.delete(id);
    t.outbox = t.outbox.filter((o) => o.webhook_id !== id);
    t.attempts = t.attempts.filter((a) => a.webhook_id !== id);
    return publicView(row);
  }

  async listAttempts(webhookId: string, options: { before?: number; limit: number }): Promise<AttemptRow[]> {
    return this.t.attempts
      .filter((a) => a.webhook_id === webhookId && (options.before === undefined || a.seq < options.before))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((a) => ({ ...a }));
  }

  async prune(days: number): Promise<{ outbox_rows: number; attempts: number }> {
    const t = this.t;
    const cutoff = Date.now() - days * DAY_MS;
    const attemptsBefore = t.attempts.length;
    t.attempts = t.attempts.filter((a) => a.at.getTime() >= cutoff);
    const prunedAttempts = attemptsBefore - t.attempts.length;
    const gone = new Set(t.outbox.filter((o) => o.state === "delivered" && o.finished_at !== null && o.finished_at.getTime() < cutoff).map((o) => o.id));
    t.outbox = t.outbox.filter((o) => !gone.has(o.id));
    t.attempts = t.attempts.filter((a) => !gone.has(a.delivery_id));
    return { outbox_rows: gone.size, attempts: prunedAttempts };
  }

  async enqueue(_tx: Tx, input: OutboxEvent): Promise<number> {
    const t = this.t;
    const hooks = [...t.hooks.values()].filter((h) => h.project === input.project && h.events.includes(input.event)).sort((a, b) => a.seq - b.seq);
    if (hooks.length === 0) return 0;
    const body = outboxBody(input);
    for (const h of hooks) {
      t.outbox.push({ seq: ++t.seq, id: newDeliveryId(), webhook_id: h.id, project: input.project, event: input.event, body, state: "pending", attempts: 0, next_attempt_at: new Date(), lease_until: null, claim: null, finished_at: null });
    }
    kickLocalWorkers();
    return hooks.length;
  }

  // ---- the delivery queue ----

  async claim(options: { now: Date; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
    const t = this.t;
    const now = options.now.getTime();
    const claim = randomBytes(12).toString("hex");
    const due = t.outbox
      .filter((o) => o.state === "pending" && o.next_attempt_at.getTime() <= now && (o.lease_until === null || o.lease_until.getTime() <= now))
      .sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime())
      .slice(0, options.limit);
    return due.map((o) => {
      o.lease_until = new Date(now + options.leaseMs);
      o.claim = claim;
      const hook = t.hooks.get(o.webhook_id)!;
      return { id: o.id, webhookId: o.webhook_id, project: o.project, event: o.event, body: o.body, attempt: o.attempts + 1, url: hook.url, secret: hook.secret, claim };
    });
  }

  async finish(delivery: ClaimedDelivery, attempt: AttemptRecord, outcome: DeliveryOutcome): Promise<boolean> {
    const t = this.t;
    const row = t.outbox.find((o) => o.id === delivery.id && o.claim === delivery.claim);
    if (!row) return false;
    row.state = outcome.state;
    row.attempts = delivery.attempt;
    row.lease_until = null;
    row.claim = null;
    if (outcome.state === "pending") row.next_attempt_at = outcome.nextAttemptAt;
    else row.finished_at = attempt.at;
    t.attempts.push({ seq: ++t.seq, ...attemptRow(delivery, attempt) });
    return true;
  }

  async release(delivery: ClaimedDelivery): Promise<void> {
    const row = this.t.outbox.find((o) => o.id === delivery.id && o.claim === delivery.claim);
    if (row) {
      row.lease_until = null;
      row.claim = null;
    }
  }
}
