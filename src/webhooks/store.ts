import { sql, type Kysely } from "kysely";
import type { Tx } from "../core/transaction.js";
import type { Database } from "../db/schema.js";
import { compiledOnce } from "../db/compiled-once.js";
import { queryOf } from "../db/transactions.js";
import { kickLocalWorkers } from "./local-kick.js";
import { newDeliveryId, outboxBody } from "./payload.js";
import type { AttemptRow, EventOutbox, NewWebhook, OutboxEvent, WebhookRecord, WebhookStore } from "./ports.js";

const PUBLIC_COLUMNS = ["seq", "id", "project", "url", "events", "created_by", "created_at"] as const;

/** Asked by every write that emits an event (in its transaction): compiled once. */
const subscribedHooks = compiledOnce<{ project: string; event: string }, { id: string }>((db, arg) =>
  db.selectFrom("webhooks").select("id").where("project", "=", arg("project")).where(sql<boolean>`${arg("event")} = any(events)`).orderBy("seq").forKeyShare(),
);

export class KyselyWebhookStore implements WebhookStore, EventOutbox {
  constructor(private readonly db: Kysely<Database>) {}

  insert(tx: Tx, row: NewWebhook): Promise<WebhookRecord> {
    return queryOf(this.db, tx)
      .insertInto("webhooks")
      .values({ id: row.id, project: row.project, url: row.url, events: row.events, secret: row.secret, created_by: row.createdBy })
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  find(project: string, id: string): Promise<WebhookRecord | undefined> {
    return this.db.selectFrom("webhooks").select(PUBLIC_COLUMNS).where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  list(project: string, options: { before?: number; limit: number }): Promise<WebhookRecord[]> {
    let q = this.db.selectFrom("webhooks").select(PUBLIC_COLUMNS).where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  /** Its outbox rows and attempt log go with it (ON DELETE CASCADE). */
  delete(tx: Tx, project: string, id: string): Promise<WebhookRecord | undefined> {
    return queryOf(this.db, tx).deleteFrom("webhooks").where("project", "=", project).where("id", "=", id).returning(PUBLIC_COLUMNS).executeTakeFirst();
  }

  listAttempts(webhookId: string, options: { before?: number; limit: number }): Promise<AttemptRow[]> {
    let q = this.db.selectFrom("webhook_attempts").selectAll().where("webhook_id", "=", webhookId).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  /** Delivered outbox rows take their attempts with them (ON DELETE CASCADE). */
  async prune(days: number): Promise<{ outbox_rows: number; attempts: number }> {
    const cutoff = sql<Date>`now() - make_interval(days => ${days})`;
    const attempts = await this.db.deleteFrom("webhook_attempts").where("at", "<", cutoff).executeTakeFirst();
    const outbox = await this.db.deleteFrom("webhook_outbox").where("state", "=", "delivered").where("finished_at", "<", cutoff).executeTakeFirst();
    return { outbox_rows: Number(outbox.numDeletedRows), attempts: Number(attempts.numDeletedRows) };
  }

  /**
   * The subscribed webhooks are read FOR KEY SHARE so a concurrent webhook delete waits for this
   * transaction instead of failing it with a foreign-key error.
   */
  async enqueue(tx: Tx, input: OutboxEvent): Promise<number> {
    const trx = queryOf(this.db, tx);
    const hooks = await subscribedHooks(trx, { project: input.project, event: input.event });
    if (hooks.length === 0) return 0;
    const body = outboxBody(input);
    await trx
      .insertInto("webhook_outbox")
      .values(hooks.map((h) => ({ id: newDeliveryId(), webhook_id: h.id, project: input.project, event: input.event, body })))
      .execute();
    kickLocalWorkers();
    return hooks.length;
  }
}
