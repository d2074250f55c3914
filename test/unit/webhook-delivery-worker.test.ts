import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { exponentialBackoff } from "../../src/webhooks/backoff.js";
import { DeliveryWorker, type DeliveryWorkerOptions } from "../../src/webhooks/delivery-worker.js";
import type { AttemptRecord, ClaimedDelivery, DeliveryOutcome, DeliveryQueue } from "../../src/webhooks/ports.js";
import type { SendRequest, SendResult, Sender } from "../../src/webhooks/send.js";
import { verifySignature } from "../../src/webhooks/signature.js";

const SECRET = "unit-test-secret-do-not-log";

interface Row {
  id: string;
  body: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  claim: string | null;
}

/** The outbox semantics of KyselyDeliveryQueue, in memory. */
class MemoryQueue implements DeliveryQueue {
  readonly rows: Row[] = [];
  readonly log: Array<AttemptRecord & { deliveryId: string; attempt: number }> = [];
  private claims = 0;

  add(id: string, at = 0): void {
    this.rows.push({ id, body: JSON.stringify({ event: "artifact.published", project: "demo", at: new Date(at).toISOString(), data: { id } }), state: "pending", attempts: 0, nextAttemptAt: at, leaseUntil: null, claim: null });
  }

  async claim(options: { now: Date; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]> {
    const now = options.now.getTime();
    const due = this.rows
      .filter((r) => r.state === "pending" && r.nextAttemptAt <= now && (r.leaseUntil === null || r.leaseUntil <= now))
      .slice(0, options.limit);
    return due.map((r) => {
      r.leaseUntil = now + options.leaseMs;
      r.claim = `c${++this.claims}`;
      return { id: r.id, webhookId: "wh_1", project: "demo", event: "artifact.published", body: r.body, attempt: r.attempts + 1, url: "http://receiver.test/hook", secret: SECRET, claim: r.claim };
    });
  }

  async finish(d: ClaimedDelivery, attempt: AttemptRecord, outcome: DeliveryOutcome): Promise<boolean> {
    const row = this.rows.find((r) => r.id === d.id);
    if (!row || row.claim !== d.claim) return false;
    row.state = outcome.state;
    row.attempts = d.attempt;
    row.leaseUntil = null;
    row.claim = null;
    if (outcome.state === "pending") row.nextAttemptAt = outcome.nextAttemptAt.getTime();
    this.log.push({ ...attempt, deliveryId: d.id, attempt: d.attempt });
    return true;
  }

  async release(d: ClaimedDelivery): Promise<void> {
    const row = this.rows.find((r) => r.id === d.id);
    if (row && row.claim === d.claim) {
      row.leaseUntil = null;
      row.claim = null;
    }
  }
}

/** Answers each request with the next scripted status (the last one repeats). */
function scriptedSender(statuses: number[]): Sender & { requests: SendRequest[] } {
  const requests: SendRequest[] = [];
  const send = async (request: SendRequest): Promise<SendResult> => {
    requests.push(request);
    const status = statuses[Math.min(requests.length - 1, statuses.length - 1)]!;
    const ok = status >= 200 && status < 300;
    return { ok, statusCode: status, error: ok ? null : `HTTP ${status}`, aborted: false };
  };
  return Object.assign(send, { requests });
}

function setup(send: Sender, options: Partial<DeliveryWorkerOptions> = {}) {
  const clock = { ms: 0 };
  const queue = new MemoryQueue();
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString("utf8"));
      cb();
    },
  });
  const worker = new DeliveryWorker(queue, {
    logger: createLogger({ level: "debug", destination }),
    send,
    options: {
      schedule: exponentialBackoff({ baseMs: 1_000, maxAttempts: 4 }),
      now: () => new Date(clock.ms),
      random: () => 0,
      ...options,
    },
  });
  const round = async () => {
    await worker.pollNow();
    await worker.idle();
  };
  return { clock, queue, worker, round, logs: () => lines.join("") };
}

describe("DeliveryWorker", () => {
  it("retries a failing receiver on the schedule, logs every attempt, then marks the delivery failed", async () => {
    const sender = scriptedSender([500]);
    const { clock, queue, round, logs } = setup(sender);
    queue.add("dlv_a");

    await round();
    expect(queue.log.map((a) => [a.attempt, a.statusCode, a.error, a.at.getTime()])).toEqual([[1, 500, "HTTP 500", 0]]);

    // Retries come 1 s, 2 s and 4 s after each failure — not a moment before.
    for (const [wait, attempt] of [[1_000, 2], [2_000, 3], [4_000, 4]] as const) {
      clock.ms += wait - 1;
      await round();
      expect(queue.log).toHaveLength(attempt - 1);
      clock.ms += 1;
      await round();
      expect(queue.log).toHaveLength(attempt);
      expect(queue.log[attempt - 1]!.at.getTime()).toBe(clock.ms);
    }
    expect(queue.rows[0]).toMatchObject({ state: "failed", attempts: 4 });

    clock.ms += 24 * 3600_000;
    await round();
    expect(sender.requests).toHaveLength(4);
    expect(logs()).toContain("webhook delivery failed for good");
    expect(logs()).not.toContain(SECRET);
  });

  it("sends the same body, signature and delivery id on every attempt and stops at the first 2xx", async () => {
    const sender = scriptedSender([503, 204]);
    const { clock, queue, round } = setup(sender);
    queue.add("dlv_b");
    await round();
    clock.ms += 1_000;
    await round();
    clock.ms += 10_000;
    await round();

    expect(sender.requests).toHaveLength(2);
    expect(sender.requests.map((r) => [r.deliveryId, r.attempt])).toEqual([
      ["dlv_b", 1],
      ["dlv_b", 2],
    ]);
    expect(sender.requests[1]!.body).toBe(sender.requests[0]!.body);
    expect(queue.rows[0]).toMatchObject({ state: "delivered", attempts: 2 });
    expect(queue.log.map((a) => [a.statusCode, a.error])).toEqual([
      [503, "HTTP 503"],
      [204, null],
    ]);
  });

  it("keeps at most `concurrency` sends in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    const send: Sender = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { ok: true, statusCode: 200, error: null, aborted: false };
    };
    const { queue, worker } = setup(send, { concurrency: 2 });
    for (let i = 0; i < 7; i++) queue.add(`dlv_${i}`);
    // Without start(): each round claims only what the free slots allow.
    for (let i = 0; i < 10 && queue.rows.some((r) => r.state === "pending"); i++) {
      await worker.pollNow();
      await worker.pollNow();
      await worker.idle();
    }
    expect(queue.rows.every((r) => r.state === "delivered")).toBe(true);
    expect(peak).toBe(2);
  });

  it("gives a send cut short by stop() back to the outbox without counting an attempt", async () => {
    let started!: () => void;
    const sending = new Promise<void>((r) => (started = r));
    const send: Sender = (_req, { signal }) => {
      started();
      return new Promise((resolve) =>
        signal.addEventListener("abort", () => resolve({ ok: false, statusCode: null, error: "aborted", aborted: true })),
      );
    };
    const { queue, worker } = setup(send);
    queue.add("dlv_c");
    worker.start();
    await sending;
    expect(queue.rows[0]!.leaseUntil).not.toBeNull();
    await worker.stop();
    expect(queue.rows[0]).toMatchObject({ state: "pending", attempts: 0, leaseUntil: null, claim: null });
    expect(queue.log).toEqual([]);

    // The next worker (a restarted instance) sends it.
    const next = setup(scriptedSender([200]));
    next.queue.rows.push(...queue.rows);
    await next.round();
    expect(next.queue.rows[0]).toMatchObject({ state: "delivered", attempts: 1 });
  });

  it("records a sender that throws as a failed attempt and keeps going", async () => {
    const send: Sender = async () => {
      throw new Error("boom");
    };
    const { queue, round } = setup(send);
    queue.add("dlv_d");
    await round();
    expect(queue.log[0]).toMatchObject({ attempt: 1, statusCode: null });
    expect(queue.log[0]!.error).toContain("boom");
    expect(queue.rows[0]).toMatchObject({ state: "pending", nextAttemptAt: 1_000 });
  });

  it("signs what it sends with the webhook's secret", async () => {
    const { deliveryHeaders } = await import("../../src/webhooks/send.js");
    const sender = scriptedSender([200]);
    const { queue, round } = setup(sender);
    queue.add("dlv_e");
    await round();
    const headers = deliveryHeaders(sender.requests[0]!);
    expect(headers).toMatchObject({ "content-type": "application/json", "x-pinset-event": "artifact.published", "x-pinset-delivery": "dlv_e" });
    expect(verifySignature(SECRET, sender.requests[0]!.body, headers["x-pinset-signature"])).toBe(true);
  });

  it("refuses a lease no longer than the time-out", () => {
    expect(() => setup(scriptedSender([200]), { timeoutMs: 10_000, leaseMs: 10_000 })).toThrow(RangeError);
  });
});
