import type { Logger } from "../logger.js";
import { DEFAULT_RETRY_SCHEDULE, type RetrySchedule } from "./backoff.js";
import { onLocalEnqueue } from "./local-kick.js";
import type { ClaimedDelivery, DeliveryOutcome, DeliveryQueue } from "./ports.js";
import { httpSender, type Sender, type SendResult } from "./send.js";

export interface DeliveryWorkerOptions {
  schedule: RetrySchedule;
  /** The worker's clock: due times, leases and attempt times (injectable for tests). */
  now: () => Date;
  random: () => number;
  pollIntervalMs: number;
  /** Per attempt, until the receiver's response headers arrive. */
  timeoutMs: number;
  /** How long a claim is exclusive; must exceed timeoutMs, or a slow attempt gets a twin. */
  leaseMs: number;
  /** Deliveries in flight at once, across all webhooks. */
  concurrency: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryWorkerOptions = {
  schedule: DEFAULT_RETRY_SCHEDULE,
  now: () => new Date(),
  random: Math.random,
  pollIntervalMs: 250,
  timeoutMs: 10_000,
  leaseMs: 60_000,
  concurrency: 8,
};

/** After a kick, poll again this soon: the enqueuing transaction may not have committed yet. */
const KICK_FOLLOW_UPS_MS = [0, 25, 100];

/**
 * Sends the outbox. It polls every `pollIntervalMs` (and at once when this process enqueued),
 * claims due rows under a lease, sends each one, logs the attempt and either marks it
 * delivered, schedules the next attempt per the retry schedule, or marks it failed. Delivery
 * is at least once: receivers deduplicate on `x-pinset-delivery`.
 */
export class DeliveryWorker {
  readonly options: DeliveryWorkerOptions;
  private readonly send: Sender;
  private readonly log: Logger;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private readonly inFlight = new Set<Promise<void>>();
  private shutdown = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private queueDown = false;

  constructor(
    private readonly queue: DeliveryQueue,
    deps: { logger: Logger; send?: Sender; options?: Partial<DeliveryWorkerOptions> },
  ) {
    this.options = { ...DEFAULT_DELIVERY_OPTIONS, ...deps.options };
    if (this.options.leaseMs <= this.options.timeoutMs) throw new RangeError("leaseMs must exceed timeoutMs");
    this.send = deps.send ?? httpSender({ allowPrivate: false });
    this.log = deps.logger.child({ module: "webhooks" });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.shutdown = new AbortController();
    this.unsubscribe = onLocalEnqueue(() => this.kick());
    this.pollIn(0);
  }

  /**
   * Stops polling and cuts in-flight sends short; their rows are released unchanged, so the
   * next worker (here or on another instance) sends them again.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.shutdown.abort();
    await this.polling;
    await Promise.all([...this.inFlight]);
  }

  /** Something was enqueued: look now, and again shortly in case it was not committed yet. */
  kick(): void {
    if (!this.running) return;
    for (const delay of KICK_FOLLOW_UPS_MS) setTimeout(() => this.pollIn(0), delay).unref();
  }

  /** One claim-and-dispatch round; resolves once the claimed sends have started. */
  pollNow(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      if (this.pollAgain) {
        this.pollAgain = false;
        this.pollIn(0);
      }
    });
    return this.polling;
  }

  /** Waits until nothing is in flight (tests). */
  async idle(): Promise<void> {
    while (this.polling || this.inFlight.size > 0) {
      await this.polling;
      await Promise.all([...this.inFlight]);
    }
  }

  private pollIn(delayMs: number): void {
    if (!this.running) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      void this.pollNow().finally(() => this.pollIn(this.options.pollIntervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const free = this.options.concurrency - this.inFlight.size;
    if (free <= 0) return;
    let claimed: ClaimedDelivery[];
    try {
      claimed = await this.queue.claim({ now: this.options.now(), leaseMs: this.options.leaseMs, limit: free });
      if (this.queueDown) this.log.info("webhook outbox reachable again");
      this.queueDown = false;
    } catch (err) {
      // Logged once per outage, not on every poll.
      if (!this.queueDown) this.log.warn({ err }, "cannot read the webhook outbox; retrying");
      this.queueDown = true;
      return;
    }
    for (const delivery of claimed) {
      const task = this.deliver(delivery).finally(() => {
        this.inFlight.delete(task);
        // A full batch may have left more due rows behind.
        if (claimed.length === free) this.pollIn(0);
      });
      this.inFlight.add(task);
    }
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const at = this.options.now();
    const started = performance.now();
    const result = await this.send(
      { url: delivery.url, deliveryId: delivery.id, event: delivery.event, attempt: delivery.attempt, body: delivery.body, secret: delivery.secret },
      { timeoutMs: this.options.timeoutMs, signal: this.shutdown.signal },
    ).catch((err: unknown): SendResult => ({ ok: false, statusCode: null, error: `send failed: ${String(err).slice(0, 200)}`, aborted: false }));
    const durationMs = performance.now() - started;
    const fields = { webhook: delivery.webhookId, delivery: delivery.id, event: delivery.event, attempt: delivery.attempt };
    try {
      if (result.aborted) {
        await this.queue.release(delivery);
        return;
      }
      const outcome = this.outcomeOf(delivery, result.ok);
      const mine = await this.queue.finish(delivery, { statusCode: result.statusCode, error: result.error, durationMs, at }, outcome);
      if (!mine) {
        this.log.warn(fields, "webhook delivery outlived its lease; another worker owns it now");
      } else if (outcome.state === "delivered") {
        this.log.debug({ ...fields, status: result.statusCode }, "webhook delivered");
      } else {
        const next = outcome.state === "pending" ? outcome.nextAttemptAt.toISOString() : null;
        this.log.warn({ ...fields, status: result.statusCode, error: result.error, next_attempt_at: next }, outcome.state === "failed" ? "webhook delivery failed for good" : "webhook delivery failed; will retry");
      }
    } catch (err) {
      // The lease expires and the row is sent again: at least once, never lost.
      this.log.warn({ err, ...fields }, "cannot record a webhook delivery attempt; it will be retried");
    }
  }

  private outcomeOf(delivery: ClaimedDelivery, ok: boolean): DeliveryOutcome {
    if (ok) return { state: "delivered" };
    const delay = this.options.schedule.delayAfter(delivery.attempt, this.options.random);
    if (delay === undefined) return { state: "failed" };
    return { state: "pending", nextAttemptAt: new Date(this.options.now().getTime() + delay) };
  }
}
