import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { attemptRow } from "./payload.js";
import type { AttemptRecord, ClaimedDelivery, DeliveryOutcome, DeliveryQueue } from "./ports.js";

/** The outbox as the delivery worker leases it, on Postgres or PGlite. */
export class KyselyDeliveryQueue implements DeliveryQueue {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `FOR UPDATE SKIP LOCKED` lets every instance claim concurrently without waiting on or
   * double-claiming each other's rows; the lease makes a row whose worker died claimable again
   * once it expires. (PGlite runs one statement at a time, so the same SQL is trivially safe.)
   */
  async claim(options: { now: Date; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
    const claim = randomBytes(12).toString("hex");
    const leaseUntil = new Date(options.now.getTime() + options.leaseMs);
    const rows = await this.db
      .updateTable("webhook_outbox as o")
      .from("webhooks as w")
      .set({ lease_until: leaseUntil, claim })
      .whereRef("w.id", "=", "o.webhook_id")
      .where("o.seq", "in", (eb) =>
        eb
          .selectFrom("webhook_outbox")
          .select("seq")
          .where("state", "=", "pending")
          .where("next_attempt_at", "<=", options.now)
          .where((w) => w.or([w("lease_until", "is", null), w("lease_until", "<=", options.now)]))
          .orderBy("next_attempt_at")
          .limit(options.limit)
          .forUpdate()
          .skipLocked(),
      )
      .returning(["o.id", "o.webhook_id", "o.project", "o.event", "o.body", "o.attempts", "w.url", "w.secret"])
      .execute();
    return rows.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      project: r.project,
      event: r.event,
      body: r.body,
      attempt: r.attempts + 1,
      url: r.url,
      secret: r.secret,
      claim,
    }));
  }

  /**
   * The outbox row is updated first: its row lock makes a concurrent webhook delete (which
   * cascades to the outbox) wait, so the attempt row never points at a vanished delivery.
   */
  async finish(delivery: ClaimedDelivery, attempt: AttemptRecord, outcome: DeliveryOutcome): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable("webhook_outbox")
        .set({
          state: outcome.state,
          attempts: delivery.attempt,
          lease_until: null,
          claim: null,
          ...(outcome.state === "pending" ? { next_attempt_at: outcome.nextAttemptAt } : { finished_at: attempt.at }),
        })
        .where("id", "=", delivery.id)
        .where("claim", "=", delivery.claim)
        .returning("id")
        .executeTakeFirst();
      if (!updated) return false;
      await trx
        .insertInto("webhook_attempts")
        .values(attemptRow(delivery, attempt))
        .execute();
      return true;
    });
  }

  async release(delivery: ClaimedDelivery): Promise<void> {
    await this.db
      .updateTable("webhook_outbox")
      .set({ lease_until: null, claim: null })
      .where("id", "=", delivery.id)
      .where("claim", "=", delivery.claim)
      .execute();
  }
}
