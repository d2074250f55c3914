import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { recordAudit } from "../audit/store.js";
import type { Database } from "../db/schema.js";
import { NotFoundError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { WebhookEvent } from "./events.js";
import { WebhookStore, type AttemptRow, type WebhookPublicRow } from "./store.js";

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  created_at: string;
}

export interface DeliveryAttemptView {
  id: string;
  /** The delivery this attempt belongs to (the `x-pinset-delivery` header the receiver saw). */
  delivery_id: string;
  event: string;
  status_code: number | null;
  error: string | null;
  attempt: number;
  at: string;
}

function present(row: WebhookPublicRow): WebhookView {
  return { id: row.id, url: row.url, events: row.events, created_at: row.created_at.toISOString() };
}

/** What a token without admin sees of a failed attempt instead of its status code and error. */
export const REDACTED_DELIVERY_ERROR = "delivery failed (details are shown to admin tokens)";

function presentAttempt(row: AttemptRow, detailed: boolean): DeliveryAttemptView {
  const delivered = row.error === null && row.status_code !== null && row.status_code >= 200 && row.status_code < 300;
  return {
    id: row.id,
    delivery_id: row.delivery_id,
    event: row.event,
    status_code: detailed || delivered ? row.status_code : null,
    error: detailed || delivered ? row.error : REDACTED_DELIVERY_ERROR,
    attempt: row.attempt,
    at: row.at.toISOString(),
  };
}

/**
 * What the audit log keeps of a webhook: the URL's origin and the events. Receiver URLs often
 * carry credentials in their path (Slack, Discord, Teams hooks), and the secret never appears.
 */
function auditView(row: WebhookPublicRow) {
  return { origin: new URL(row.url).origin, events: row.events };
}

export class WebhookService {
  private readonly store: WebhookStore;

  constructor(private readonly db: Kysely<Database>) {
    this.store = new WebhookStore(db);
  }

  /** `secret` is stored as given (it is the HMAC key, so it must stay recoverable); never returned. */
  async create(actor: Actor, project: string, input: { url: string; events: WebhookEvent[]; secret: string }): Promise<WebhookView> {
    const id = `wh_${randomBytes(12).toString("hex")}`;
    const row = await this.db.transaction().execute(async (trx) => {
      const inserted = await this.store.insert(trx, { id, project, url: input.url, events: input.events, secret: input.secret, createdBy: actor.name });
      await recordAudit(trx, actor, { project, action: "webhook.create", target: `webhook/${id}`, after: auditView(inserted) });
      return inserted;
    });
    return present(row);
  }

  async list(project: string, page: { limit: number; cursor?: string }): Promise<Page<WebhookView>> {
    const rows = await this.store.list(project, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }

  /** Removes the webhook with its pending deliveries and delivery log. */
  async delete(actor: Actor, project: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const removed = await this.store.delete(trx, project, id);
      if (!removed) throw new NotFoundError(`Webhook ${id} not found`);
      await recordAudit(trx, actor, { project, action: "webhook.delete", target: `webhook/${id}`, before: auditView(removed) });
    });
  }

  /** `detailed`: the caller may see why attempts failed (admin); others see REDACTED_DELIVERY_ERROR. */
  async deliveries(project: string, id: string, page: { limit: number; cursor?: string }, view: { detailed: boolean }): Promise<Page<DeliveryAttemptView>> {
    const before = decodeCursor(page.cursor);
    const hook = await this.store.find(project, id);
    if (!hook) throw new NotFoundError(`Webhook ${id} not found`);
    const rows = await this.store.listAttempts(id, { before, limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, (r) => presentAttempt(r, view.detailed));
  }
}
