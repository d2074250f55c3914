import type { Kysely, Selectable } from "kysely";
import type { Database, WebhookAttemptsTable, WebhooksTable } from "../db/schema.js";

export type WebhookRow = Selectable<WebhooksTable>;
/** A webhook as every read path sees it: the secret column is never selected. */
export type WebhookPublicRow = Omit<WebhookRow, "secret">;
export type AttemptRow = Selectable<WebhookAttemptsTable>;

const PUBLIC_COLUMNS = ["seq", "id", "project", "url", "events", "created_by", "created_at"] as const;

export class WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  insert(
    db: Kysely<Database>,
    row: { id: string; project: string; url: string; events: string[]; secret: string; createdBy: string },
  ): Promise<WebhookPublicRow> {
    return db
      .insertInto("webhooks")
      .values({ id: row.id, project: row.project, url: row.url, events: row.events, secret: row.secret, created_by: row.createdBy })
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
  }

  find(project: string, id: string): Promise<WebhookPublicRow | undefined> {
    return this.db.selectFrom("webhooks").select(PUBLIC_COLUMNS).where("project", "=", project).where("id", "=", id).executeTakeFirst();
  }

  /** Newest first; `before` is a seq (the cursor). */
  list(project: string, options: { before?: number; limit: number }): Promise<WebhookPublicRow[]> {
    let q = this.db.selectFrom("webhooks").select(PUBLIC_COLUMNS).where("project", "=", project).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }

  /** Deletes the webhook; its outbox rows and attempt log go with it (ON DELETE CASCADE). */
  delete(db: Kysely<Database>, project: string, id: string): Promise<WebhookPublicRow | undefined> {
    return db.deleteFrom("webhooks").where("project", "=", project).where("id", "=", id).returning(PUBLIC_COLUMNS).executeTakeFirst();
  }

  /** Attempts newest first; `before` is a seq (the cursor). */
  listAttempts(webhookId: string, options: { before?: number; limit: number }): Promise<AttemptRow[]> {
    let q = this.db.selectFrom("webhook_attempts").selectAll().where("webhook_id", "=", webhookId).orderBy("seq", "desc").limit(options.limit);
    if (options.before !== undefined) q = q.where("seq", "<", options.before);
    return q.execute();
  }
}
