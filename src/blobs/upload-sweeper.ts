import type { BackgroundTask } from "../background.js";
import type { Logger } from "../logger.js";
import type { BlobStore } from "./ports.js";

export interface UploadSweeperOptions {
  /** Uploads unfinished for longer than this are abandoned. */
  maxAgeMs: number;
  /** How often to sweep after the sweep at start. */
  intervalMs: number;
  now: () => Date;
}

export const DEFAULT_UPLOAD_SWEEP: UploadSweeperOptions = { maxAgeMs: 60 * 60_000, intervalMs: 60 * 60_000, now: () => new Date() };

/**
 * Removes abandoned uploads (BlobStore.sweepAbandonedUploads) when the app starts and every
 * interval after: a process killed mid-upload leaves a temporary file or an incomplete
 * multipart upload that nothing else would ever delete. Several instances sweeping the same
 * store is harmless: removing what is already gone is not an error.
 */
export class UploadSweeper implements BackgroundTask {
  private readonly options: UploadSweeperOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private warnedUnsupported = false;

  constructor(
    private readonly store: Pick<BlobStore, "sweepAbandonedUploads">,
    deps: { logger: Logger; options?: Partial<UploadSweeperOptions> },
  ) {
    this.options = { ...DEFAULT_UPLOAD_SWEEP, ...deps.options };
    this.log = deps.logger.child({ module: "blobs" });
  }

  start(): void {
    if (this.timer || !this.store.sweepAbandonedUploads) return;
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep (also for tests); never throws, a failure is logged and the next sweep retries. */
  sweep(): Promise<void> {
    this.running ??= this.sweepOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    const before = new Date(this.options.now().getTime() - this.options.maxAgeMs);
    try {
      const result = await this.store.sweepAbandonedUploads!(before);
      if (!result.supported && !this.warnedUnsupported) {
        this.warnedUnsupported = true;
        this.log.info("the blob store cannot list unfinished uploads; let a bucket lifecycle rule abort incomplete multipart uploads");
      }
      if (result.removed > 0) this.log.info({ removed: result.removed, before: before.toISOString() }, "removed abandoned uploads");
    } catch (err) {
      this.log.warn({ err }, "sweeping abandoned uploads failed; will retry");
    }
  }
}
