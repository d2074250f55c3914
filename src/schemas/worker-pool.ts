import type { Worker } from "node:worker_threads";

/**
 * A small pool of worker threads for CPU-heavy jobs that must never run on the event loop.
 *
 * Invariants:
 * - at most `size` workers exist; they start when work arrives (or on warm()), and an idle
 *   worker is unref'd, so the pool never keeps a process alive;
 * - at most `maxQueue` jobs wait for a worker; one more is refused at once (PoolBusyError);
 * - a job that runs longer than `timeoutMs` (counted from when a ready worker takes it, so a
 *   worker's start-up is not charged to it) rejects with PoolTimeoutError, and its worker is
 *   terminated — the only way to stop synchronous code — and replaced by the next job;
 * - a worker that dies (out of memory, a crash) rejects its job with PoolCrashError.
 *
 * The worker script speaks a four-message protocol: it posts `{type: "ready"}` once loaded,
 * receives `{id, job}`, may post `{type: "progress", id, step}`, and ends each job with
 * `{type: "done", id, value}` or `{type: "failed", id, message}`.
 */
export interface WorkerPoolOptions {
  size: number;
  maxQueue: number;
  timeoutMs: number;
  /** Starts one worker running the script (see core/module-worker.ts). */
  spawn: () => Worker;
  /** Told when a worker is terminated or dies, for the log. */
  onWorkerLost?: (reason: "timeout" | "crash", detail: string) => void;
}

export class PoolBusyError extends Error {
  override readonly name = "PoolBusyError";
}

export class PoolTimeoutError extends Error {
  override readonly name = "PoolTimeoutError";
  /** The last step the job reported before it was stopped (see RunOptions.onProgress). */
  constructor(readonly timeoutMs: number, readonly lastStep: number | undefined) {
    super(`job did not finish within ${timeoutMs} ms`);
  }
}

export class PoolCrashError extends Error {
  override readonly name = "PoolCrashError";
  constructor(message: string, readonly outOfMemory: boolean, readonly lastStep: number | undefined) {
    super(message);
  }
}

export interface RunOptions {
  /** Steps the worker reports (e.g. the index of the schema it is compiling). */
  onProgress?: (step: number) => void;
}

interface Pending {
  job: unknown;
  options: RunOptions;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Running extends Pending {
  id: number;
  timer: NodeJS.Timeout;
  lastStep?: number;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  running?: Running;
}

type WorkerMessage =
  | { type: "ready" }
  | { type: "progress"; id: number; step: number }
  | { type: "done"; id: number; value: unknown }
  | { type: "failed"; id: number; message: string };

export class WorkerPool<Job, Result> {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private nextId = 1;

  constructor(private readonly options: WorkerPoolOptions) {
    if (options.size < 1) throw new RangeError("a worker pool needs at least one worker");
  }

  run(job: Job, options: RunOptions = {}): Promise<Result> {
    const running = [...this.slots].filter((s) => s.running).length;
    const free = this.options.size - running;
    // Jobs beyond the free workers wait; their line is what maxQueue bounds.
    if (this.queue.length - free >= this.options.maxQueue) {
      return Promise.reject(new PoolBusyError(`${this.queue.length} jobs are already waiting`));
    }
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ job, options, resolve: resolve as (value: unknown) => void, reject });
      this.pump();
    });
  }

  /** Starts every worker now, so the first job does not wait for one to load. */
  warm(): void {
    while (this.slots.size < this.options.size) this.spawn();
  }

  /** Workers alive, jobs running, jobs waiting. */
  stats(): { workers: number; running: number; queued: number } {
    const running = [...this.slots].filter((s) => s.running).length;
    return { workers: this.slots.size, running, queued: this.queue.length };
  }

  /** Terminates every worker; running and waiting jobs reject. The pool starts afresh on the next job. */
  async close(): Promise<void> {
    const closing = new Error("the worker pool was closed");
    for (const pending of this.queue.splice(0)) pending.reject(closing);
    const workers = [...this.slots].map((slot) => {
      this.slots.delete(slot);
      if (slot.running) this.settle(slot, (r) => r.reject(closing));
      return slot.worker.terminate();
    });
    await Promise.allSettled(workers);
  }

  private idleSlot(): Slot | undefined {
    for (const slot of this.slots) if (slot.ready && !slot.running) return slot;
    return undefined;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.idleSlot();
      if (!slot) {
        const starting = [...this.slots].filter((s) => !s.ready).length;
        // Enough workers are on their way for what waits, or the pool is full: wait for one.
        if (starting < this.queue.length && this.slots.size < this.options.size) this.spawn();
        return;
      }
      this.dispatch(slot, this.queue.shift()!);
    }
  }

  private dispatch(slot: Slot, pending: Pending): void {
    const id = this.nextId++;
    const timer = setTimeout(() => this.timeOut(slot), this.options.timeoutMs);
    slot.running = { ...pending, id, timer };
    slot.worker.ref();
    slot.worker.postMessage({ id, job: pending.job });
  }

  private spawn(): void {
    const worker = this.options.spawn();
    worker.unref();
    const slot: Slot = { worker, ready: false };
    this.slots.add(slot);
    worker.on("message", (message: WorkerMessage) => this.onMessage(slot, message));
    worker.on("error", (err: Error & { code?: string }) => this.lose(slot, err.message, err.code === "ERR_WORKER_OUT_OF_MEMORY"));
    worker.on("exit", (code) => this.lose(slot, `worker exited with code ${code}`, false));
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (!this.slots.has(slot)) return;
    if (message.type === "ready") {
      slot.ready = true;
      this.pump();
      return;
    }
    const running = slot.running;
    if (!running || running.id !== message.id) return;
    if (message.type === "progress") {
      running.lastStep = message.step;
      running.options.onProgress?.(message.step);
      return;
    }
    this.settle(slot, (r) => (message.type === "done" ? r.resolve(message.value) : r.reject(new Error(message.message))));
    slot.worker.unref();
    this.pump();
  }

  private settle(slot: Slot, finish: (running: Running) => void): void {
    const running = slot.running;
    if (!running) return;
    slot.running = undefined;
    clearTimeout(running.timer);
    finish(running);
  }

  private timeOut(slot: Slot): void {
    if (!this.slots.has(slot)) return;
    this.slots.delete(slot);
    const lastStep = slot.running?.lastStep;
    this.settle(slot, (r) => r.reject(new PoolTimeoutError(this.options.timeoutMs, lastStep)));
    this.options.onWorkerLost?.("timeout", `job exceeded ${this.options.timeoutMs} ms; worker terminated`);
    void slot.worker.terminate();
    this.pump();
  }

  private lose(slot: Slot, detail: string, outOfMemory: boolean): void {
    if (!this.slots.has(slot)) return;
    this.slots.delete(slot);
    const wasReady = slot.ready;
    const lastStep = slot.running?.lastStep;
    const hadJob = slot.running !== undefined;
    this.settle(slot, (r) => r.reject(new PoolCrashError(detail, outOfMemory, lastStep)));
    this.options.onWorkerLost?.("crash", detail);
    void slot.worker.terminate();
    // A worker that cannot even start would be respawned forever: fail the next job instead.
    if (!wasReady && !hadJob) this.queue.shift()?.reject(new PoolCrashError(`worker failed to start: ${detail}`, false, undefined));
    this.pump();
  }
}
