import type { Worker } from "node:worker_threads";
import { siblingModule, startModuleWorker } from "../core/module-worker.js";
import type { EmbeddedNotifier } from "./pglite-listener.js";
import { SessionLock, type SessionRelease } from "./session-lock.js";
import { EMBEDDED_DATABASE_GONE_CODE, SERIALIZED_ERROR_FIELDS, type PgliteWorkerData, type SerializedDatabaseError, type WorkerMessage, type WorkerRequest } from "./pglite-worker-protocol.js";

/** A statement the embedded database refused, rebuilt on this thread with Postgres' fields (`code` 23505, …). */
export class EmbeddedDatabaseError extends Error {
  declare readonly code?: string;
  declare readonly detail?: string;
  declare readonly constraint?: string;
  declare readonly table?: string;

  constructor(serialized: SerializedDatabaseError) {
    super(serialized.message);
    this.name = serialized.name === "Error" ? "DatabaseError" : serialized.name;
    for (const field of SERIALIZED_ERROR_FIELDS) if (serialized[field] !== undefined) Object.defineProperty(this, field, { value: serialized[field], enumerable: true });
  }
}

/** The worker thread died (crash, out of memory) or the handle was closed: no statement can run any more. */
export class EmbeddedDatabaseGoneError extends Error {
  readonly code = EMBEDDED_DATABASE_GONE_CODE;

  constructor(readonly reason: "crashed" | "closed", detail: string) {
    super(reason === "crashed" ? `The embedded database's worker thread stopped (${detail}); restart Pinset` : `The embedded database is closed (${detail})`);
    this.name = "EmbeddedDatabaseGoneError";
  }
}

/** How long close waits for statements already asked for. */
const CLOSE_WAIT_MS = 5_000;

interface Pending {
  resolve(message: WorkerMessage): void;
  reject(error: Error): void;
}

export interface QueryAnswer {
  rows: unknown[];
  affectedRows?: number;
}

/**
 * The HTTP thread's end of the embedded database (PGlite in a worker thread, pglite-worker.ts).
 *
 * Invariants:
 * - PGlite has one session, so the client hands it out to one holder at a time
 *   (`acquireSession`, session-lock.ts): the kysely driver holds it for a statement or a whole
 *   transaction, and LISTEN/UNLISTEN take it too, so they never run inside someone's open
 *   transaction;
 * - every request gets exactly one answer: the worker's, or — when the worker dies or the
 *   handle is closed — an EmbeddedDatabaseGoneError, at once, never a hang; requests made after
 *   that fail the same way;
 * - the worker keeps the process alive only while a request is out (like a socket with a query
 *   in flight), so a forgotten handle does not hold the process open.
 */
export class PgliteWorkerClient implements EmbeddedNotifier {
  private readonly pending = new Map<number, Pending>();
  private readonly channels = new Map<string, { callbacks: Set<(payload: string) => void>; listening: Promise<void> }>();
  private readonly lostListeners = new Set<(err: Error) => void>();
  /** One earlier turn's last statement may still be in the worker when a turn begins (see SessionLock). */
  private readonly session = new SessionLock({ pipeline: 1 });
  private nextId = 1;
  private gone: EmbeddedDatabaseGoneError | undefined;
  private closed: Promise<void> | undefined;

  private constructor(readonly worker: Worker) {
    worker.on("message", (message: WorkerMessage) => this.onMessage(message));
    worker.on("error", (err: Error) => this.die(err.message));
    worker.on("exit", (code) => this.die(`exit code ${code}`));
  }

  /** Starts the worker and waits until PGlite is open in it (or failed to open: that error). */
  static async start(data: PgliteWorkerData = {}): Promise<PgliteWorkerClient> {
    const worker = startModuleWorker(siblingModule(import.meta.url, "pglite-worker"), { workerData: data });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        worker.off("message", first);
        void worker.terminate();
        reject(err);
      };
      const first = (message: WorkerMessage) => {
        worker.off("error", fail);
        worker.off("exit", exited);
        if (message.type === "ready") resolve();
        else fail(message.type === "start-failed" ? new EmbeddedDatabaseError(message.error) : new Error(`unexpected first message from the embedded database: ${message.type}`));
      };
      const exited = (code: number) => fail(new EmbeddedDatabaseGoneError("crashed", `exit code ${code} before it was ready`));
      worker.once("message", first);
      worker.once("error", fail);
      worker.once("exit", exited);
    });
    worker.unref();
    return new PgliteWorkerClient(worker);
  }

  /**
   * Runs one statement on the session; the caller must hold it (acquireSession). `begin` opens a
   * transaction in the same exchange first (a failed begin skips the statement).
   */
  async query(sql: string, params: readonly unknown[], begin?: string): Promise<QueryAnswer> {
    const answer = await this.request(begin === undefined ? { type: "query", sql, params } : { type: "query", sql, params, begin });
    if (answer.type !== "result") throw new Error(`unexpected answer to a query: ${answer.type}`);
    return answer.affectedRows !== undefined ? { rows: answer.rows, affectedRows: answer.affectedRows } : { rows: answer.rows };
  }

  /**
   * Waits for the session (see SessionLock for `urgent` and `timeoutMs`); call the returned
   * function to pass it on, with the last request's answer when that has not arrived yet.
   */
  acquireSession(options: { urgent?: boolean; timeoutMs?: number } = {}): Promise<SessionRelease> {
    return this.session.acquire(options);
  }

  async listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>> {
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { callbacks: new Set(), listening: this.withSession(() => this.request({ type: "listen", channel })).then(() => {}) };
      this.channels.set(channel, entry);
      entry.listening.catch(() => this.channels.delete(channel));
    }
    const { callbacks, listening } = entry;
    callbacks.add(callback);
    await listening;
    return async () => {
      callbacks.delete(callback);
      if (callbacks.size > 0 || this.channels.get(channel) !== entry) return;
      this.channels.delete(channel);
      if (!this.gone) await this.withSession(() => this.request({ type: "unlisten", channel }));
    };
  }

  /** Told once when the worker dies (not when the handle is closed). */
  onLost(listener: (err: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /**
   * Closes PGlite in the worker and ends the thread. Whoever holds or waits for the session
   * already finishes first (up to `CLOSE_WAIT_MS`: a transaction left open must not keep the
   * process from stopping); PGlite's close writes a checkpoint. Statements asked for after that
   * fail with EmbeddedDatabaseGoneError.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      const turn = this.acquireSession();
      let timer: NodeJS.Timeout | undefined;
      const release = await Promise.race([turn, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
      // Too late for an orderly turn: when it comes, pass it on at once (to statements that then fail as closed).
      if (!release) void turn.then((late) => late());
      if (!this.gone) {
        const done = this.request({ type: "close" }).catch(() => {});
        this.gone = new EmbeddedDatabaseGoneError("closed", "the handle was closed");
        await done;
      }
      release?.();
      await this.worker.terminate();
    })();
    return this.closed;
  }

  private async withSession<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquireSession();
    try {
      return await work();
    } finally {
      release();
    }
  }

  private request(body: DistributiveOmit<WorkerRequest, "id">): Promise<WorkerMessage> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<WorkerMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === "notification") {
      for (const callback of this.channels.get(message.channel)?.callbacks ?? []) callback(message.payload);
      return;
    }
    if (message.type === "ready" || message.type === "start-failed") return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.settled(message.id);
    if (message.type === "error") pending.reject(new EmbeddedDatabaseError(message.error));
    else pending.resolve(message);
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private die(detail: string): void {
    if (this.closed && this.pending.size === 0) return;
    const alreadyGone = this.gone;
    const err = alreadyGone ?? new EmbeddedDatabaseGoneError("crashed", detail);
    this.gone = err;
    for (const [id, pending] of this.pending) {
      this.settled(id);
      pending.reject(err);
    }
    if (alreadyGone) return;
    for (const listener of this.lostListeners) listener(err);
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
