import { randomBytes } from "node:crypto";
import type { AuditRecorder } from "../audit/ports.js";
import { NotFoundError, UnprocessableError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Transactions } from "../core/transaction.js";
import type { ProjectDirectory } from "../projects/ports.js";
import { literalHostProblem } from "./address-policy.js";
import type { WebhookEvent } from "./events.js";
import type { AttemptRow, WebhookRecord, WebhookStore } from "./ports.js";

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

function present(row: WebhookRecord): WebhookView {
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
function auditView(row: WebhookRecord) {
  return { origin: new URL(row.url).origin, events: row.events };
}

export interface WebhookServiceDeps {
  store: WebhookStore;
  audit: AuditRecorder;
  transactions: Transactions;
  projects: ProjectDirectory;
  /** PINSET_WEBHOOK_ALLOW_PRIVATE: literal private addresses may be registered. */
  allowPrivate?: boolean;
}

/**
 * A URL whose host is a literal non-public address (or localhost) is refused at registration;
 * hosts given by name are checked after DNS, at every delivery (send.ts).
 */
function requirePublicTarget(url: string): void {
  const problem = literalHostProblem(new URL(url).hostname);
  if (problem) {
    throw new UnprocessableError("The webhook URL points at a non-public address", [
      { path: "body.url", message: `host ${problem}; webhooks may only target public addresses unless PINSET_WEBHOOK_ALLOW_PRIVATE=true` },
    ]);
  }
}

export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  /** `secret` is stored as given (it is the HMAC key, so it must stay recoverable); never returned. */
  async create(actor: Actor, project: string, input: { url: string; events: WebhookEvent[]; secret: string }): Promise<WebhookView> {
    await this.deps.projects.require(project);
    if (!this.deps.allowPrivate) requirePublicTarget(input.url);
    const id = `wh_${randomBytes(12).toString("hex")}`;
    const { store, audit } = this.deps;
    const row = await this.deps.transactions.run(async (tx) => {
      const inserted = await store.insert(tx, { id, project, url: input.url, events: input.events, secret: input.secret, createdBy: actor.name });
      await audit.record(tx, actor, { project, action: "webhook.create", target: `webhook/${id}`, after: auditView(inserted) });
      return inserted;
    });
    return present(row);
  }

  async list(project: string, page: { limit: number; cursor?: string }): Promise<Page<WebhookView>> {
    await this.deps.projects.require(project);
    const rows = await this.deps.store.list(project, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, present);
  }

  /** Removes the webhook with its pending deliveries and delivery log. */
  async delete(actor: Actor, project: string, id: string): Promise<void> {
    await this.deps.projects.require(project);
    const { store, audit } = this.deps;
    await this.deps.transactions.run(async (tx) => {
      const removed = await store.delete(tx, project, id);
      if (!removed) throw new NotFoundError(`Webhook ${id} not found`);
      await audit.record(tx, actor, { project, action: "webhook.delete", target: `webhook/${id}`, before: auditView(removed) });
    });
  }

  /** `detailed`: the caller may see why attempts failed (admin); others see REDACTED_DELIVERY_ERROR. */
  async deliveries(project: string, id: string, page: { limit: number; cursor?: string }, view: { detailed: boolean }): Promise<Page<DeliveryAttemptView>> {
    await this.deps.projects.require(project);
    const before = decodeCursor(page.cursor);
    const hook = await this.deps.store.find(project, id);
    if (!hook) throw new NotFoundError(`Webhook ${id} not found`);
    const rows = await this.deps.store.listAttempts(id, { before, limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, (r) => presentAttempt(r, view.detailed));
  }
}
