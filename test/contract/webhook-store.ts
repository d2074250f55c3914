import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { DeliveryQueue, EventOutbox, WebhookStore } from "../../src/webhooks/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

export interface WebhookStores {
  projects: ProjectStore;
  webhooks: WebhookStore & EventOutbox;
  queue: DeliveryQueue;
}

const DAY = 86_400_000;
/** Webhook ids the way the service makes them (the table checks the shape). */
const ids = Object.fromEntries(["wh_a1", "wh_a2", "wh_a3", "wh_b1", "wh_b2", "wh_b3", "wh_c1", "wh_d1", "wh_e1", "wh_f1", "wh_g1"].map((k) => [k, `wh_${randomBytes(12).toString("hex")}`])) as Record<"wh_a1" | "wh_a2" | "wh_a3" | "wh_b1" | "wh_b2" | "wh_b3" | "wh_c1" | "wh_d1" | "wh_e1" | "wh_f1" | "wh_g1", string>;
const later = (ms = 1000) => new Date(Date.now() + ms);

/**
 * The behaviour every WebhookStore, EventOutbox and DeliveryQueue has: run on PGlite, Postgres
 * and the memory fake. What the fake cannot model (SKIP LOCKED between concurrent claimers, the
 * FOR KEY SHARE against a concurrent delete) is covered by test/integration/webhooks.test.ts.
 */
export function webhookStoreContract(backend: StoreBackend<WebhookStores>) {
  describe(`WebhookStore contract: ${backend.name}`, () => {
    let open: OpenStores<WebhookStores>;
    let webhooks: WebhookStore & EventOutbox;
    let queue: DeliveryQueue;
    let n = 0;
    /** A fresh project per case, so cases do not see each other's rows. */
    const project = async () => {
      const name = `p${++n}`;
      await open.transactions.run((tx) => open.stores.projects.insertIfAbsent(tx, name, null));
      return name;
    };
    const hook = (p: string, id: string, events: string[]) =>
      open.transactions.run((tx) => webhooks.insert(tx, { id, project: p, url: `https://example.com/${id}`, events, secret: `secret-of-${id}`, createdBy: "ci" }));
    /** Claims what is due, gives other projects' rows back (earlier cases' leftovers): `p`'s claimed rows. */
    const claimOf = async (p: string, options: { now: Date; leaseMs: number; limit?: number }) => {
      const claimed = await queue.claim({ ...options, limit: options.limit ?? 100 });
      for (const d of claimed) if (d.project !== p) await queue.release(d);
      return claimed.filter((d) => d.project === p);
    };
    /** The rows of `p` that are due, claimed and given back. */
    const drain = async (p: string) => {
      const claimed = await claimOf(p, { now: later(), leaseMs: 60_000 });
      for (const d of claimed) await queue.release(d);
      return claimed;
    };

    beforeAll(async () => {
      open = await backend.open();
      ({ webhooks, queue } = open.stores);
    });
    afterAll(async () => open?.close());

    it("inserts, finds and lists webhooks newest first without their secret", async () => {
      const p = await project();
      const a = await hook(p, ids.wh_a1, ["environment.changed"]);
      expect(a).toMatchObject({ id: ids.wh_a1, project: p, url: `https://example.com/${ids.wh_a1}`, events: ["environment.changed"], created_by: "ci" });
      expect(a.created_at).toBeInstanceOf(Date);
      expect(a).not.toHaveProperty("secret");
      await hook(p, ids.wh_a2, ["rollout.changed"]);
      await hook(p, ids.wh_a3, ["rollout.changed"]);
      expect(await webhooks.find(p, ids.wh_a1)).toEqual(a);
      expect(await webhooks.find("other", ids.wh_a1)).toBeUndefined();
      const all = await webhooks.list(p, { limit: 10 });
      expect(all.map((w) => w.id)).toEqual([ids.wh_a3, ids.wh_a2, ids.wh_a1]);
      expect(all.every((w) => !("secret" in w))).toBe(true);
      expect((await webhooks.list(p, { before: all[0]!.seq, limit: 1 })).map((w) => w.id)).toEqual([ids.wh_a2]);
    });

    it("enqueues one delivery per subscribed webhook with the signed payload", async () => {
      const p = await project();
      await hook(p, ids.wh_b1, ["artifact.published", "incident.opened"]);
      await hook(p, ids.wh_b2, ["incident.opened"]);
      await hook(p, ids.wh_b3, ["rollout.changed"]);
      const at = new Date("2026-01-02T03:04:05.000Z");
      expect(await open.transactions.run((tx) => webhooks.enqueue(tx, { project: p, event: "incident.opened", data: { id: "inc_1" }, at }))).toBe(2);
      expect(await open.transactions.run((tx) => webhooks.enqueue(tx, { project: p, event: "version_set.created", data: {} }))).toBe(0);
      const claimed = await drain(p);
      expect(claimed.map((d) => d.webhookId).sort()).toEqual([ids.wh_b1, ids.wh_b2].sort());
      const first = claimed.find((d) => d.webhookId === ids.wh_b1)!;
      expect(first).toMatchObject({ project: p, event: "incident.opened", attempt: 1, url: `https://example.com/${ids.wh_b1}`, secret: `secret-of-${ids.wh_b1}` });
      expect(JSON.parse(first.body)).toEqual({ event: "incident.opened", project: p, at: at.toISOString(), data: { id: "inc_1" } });
    });

    it("enqueues nothing in a transaction that throws", async () => {
      const p = await project();
      await hook(p, ids.wh_c1, ["environment.changed"]);
      await expect(
        open.transactions.run(async (tx) => {
          await webhooks.enqueue(tx, { project: p, event: "environment.changed", data: null });
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await drain(p)).toEqual([]);
    });

    it("leases claimed rows, logs finished attempts, and ignores a stale claim", async () => {
      const p = await project();
      await hook(p, ids.wh_d1, ["environment.changed"]);
      await open.transactions.run((tx) => webhooks.enqueue(tx, { project: p, event: "environment.changed", data: 1 }));
      const now = later();
      const [d] = await claimOf(p, { now, leaseMs: 60_000, limit: 10 });
      expect(d).toBeDefined();
      expect(await claimOf(p, { now, leaseMs: 60_000, limit: 10 })).toEqual([]);
      const at1 = new Date(now.getTime() + 10);
      expect(await queue.finish(d!, { statusCode: 500, error: "HTTP 500", durationMs: 12.4, at: at1 }, { state: "pending", nextAttemptAt: new Date(now.getTime() + 5_000) })).toBe(true);
      expect(await queue.finish(d!, { statusCode: 200, error: null, durationMs: 1, at: at1 }, { state: "delivered" })).toBe(false);
      expect(await claimOf(p, { now, leaseMs: 60_000, limit: 10 })).toEqual([]);
      const [again] = await claimOf(p, { now: new Date(now.getTime() + 5_000), leaseMs: 60_000, limit: 10 });
      expect(again).toMatchObject({ id: d!.id, attempt: 2 });
      expect(await queue.finish(again!, { statusCode: 204, error: null, durationMs: 3, at: new Date(now.getTime() + 5_010) }, { state: "delivered" })).toBe(true);
      expect(await claimOf(p, { now: new Date(now.getTime() + 99_000), leaseMs: 60_000, limit: 10 })).toEqual([]);
      const attempts = await webhooks.listAttempts(ids.wh_d1, { limit: 10 });
      expect(attempts.map((a) => [a.attempt, a.status_code, a.error, a.delivery_id])).toEqual([
        [2, 204, null, d!.id],
        [1, 500, "HTTP 500", d!.id],
      ]);
      expect(attempts[1]!.duration_ms).toBe(12);
      expect(attempts[1]!.at.getTime()).toBe(at1.getTime());
      expect((await webhooks.listAttempts(ids.wh_d1, { before: attempts[0]!.seq, limit: 10 })).map((a) => a.attempt)).toEqual([1]);
    });

    it("claims a released row again at once, and an expired lease after it runs out", async () => {
      const p = await project();
      await hook(p, ids.wh_e1, ["environment.changed"]);
      await open.transactions.run((tx) => webhooks.enqueue(tx, { project: p, event: "environment.changed", data: 1 }));
      const now = later();
      const [d] = await claimOf(p, { now, leaseMs: 1_000, limit: 10 });
      await queue.release(d!);
      const [again] = await claimOf(p, { now, leaseMs: 1_000, limit: 10 });
      expect(again).toMatchObject({ id: d!.id, attempt: 1 });
      expect(again!.claim).not.toBe(d!.claim);
      const [expired] = await claimOf(p, { now: new Date(now.getTime() + 1_000), leaseMs: 1_000, limit: 10 });
      expect(expired?.id).toBe(d!.id);
      await queue.release(expired!);
    });

    it("deletes a webhook with its pending deliveries and its attempt log", async () => {
      const p = await project();
      await hook(p, ids.wh_f1, ["environment.changed"]);
      await open.transactions.run((tx) => webhooks.enqueue(tx, { project: p, event: "environment.changed", data: 1 }));
      const [d] = await claimOf(p, { now: later(), leaseMs: 60_000, limit: 10 });
      await queue.finish(d!, { statusCode: 500, error: "x", durationMs: 1, at: new Date() }, { state: "pending", nextAttemptAt: new Date() });
      expect(await open.transactions.run((tx) => webhooks.delete(tx, "other", ids.wh_f1))).toBeUndefined();
      const removed = await open.transactions.run((tx) => webhooks.delete(tx, p, ids.wh_f1));
      expect(removed?.id).toBe(ids.wh_f1);
      expect(await webhooks.find(p, ids.wh_f1)).toBeUndefined();
      expect(await webhooks.listAttempts(ids.wh_f1, { limit: 10 })).toEqual([]);
      expect(await drain(p)).toEqual([]);
    });

    it("prunes delivered rows and attempts older than the retention, and keeps the rest", async () => {
      const p = await project();
      await hook(p, ids.wh_g1, ["environment.changed"]);
      for (let i = 0; i < 3; i++) await open.transactions.run((tx) => webhooks.enqueue(tx, { project: p, event: "environment.changed", data: i }));
      const [old, recent, pending] = await claimOf(p, { now: later(), leaseMs: 60_000, limit: 10 });
      const longAgo = new Date(Date.now() - 10 * DAY);
      await queue.finish(old!, { statusCode: 200, error: null, durationMs: 1, at: longAgo }, { state: "delivered" });
      await queue.finish(recent!, { statusCode: 200, error: null, durationMs: 1, at: new Date() }, { state: "delivered" });
      await queue.finish(pending!, { statusCode: 500, error: "x", durationMs: 1, at: longAgo }, { state: "pending", nextAttemptAt: later(60 * DAY) });
      expect(await webhooks.prune(5)).toEqual({ outbox_rows: 1, attempts: 2 });
      expect((await webhooks.listAttempts(ids.wh_g1, { limit: 10 })).map((a) => a.delivery_id)).toEqual([recent!.id]);
      expect(await webhooks.prune(5)).toEqual({ outbox_rows: 0, attempts: 0 });
    });
  });
}
