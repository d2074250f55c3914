import type { BackgroundTask } from "../background.js";
import type { Logger } from "../logger.js";
import { GcRunningError, type GcService } from "./service.js";

/**
 * PINSET_GC_INTERVAL: a real collection every interval (off when 0, the default). Every
 * instance may run the schedule; the `gc_runs` row admits one collection at a time, so an
 * instance that finds one running skips its turn.
 */
export class GcSchedule implements BackgroundTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly gc: Pick<GcService, "run">,
    private readonly options: { intervalMs: number; logger: Logger },
  ) {
    this.log = options.logger.child({ module: "gc" });
  }

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One scheduled run (also for tests); never throws. */
  tick(): Promise<void> {
    this.running ??= this.gc
      .run({ dryRun: false, trigger: "schedule", actor: "schedule" })
      .then(
        () => {},
        (err: unknown) => {
          if (err instanceof GcRunningError) this.log.info("scheduled garbage collection skipped: another is running");
          else this.log.warn({ err }, "scheduled garbage collection failed; the next one retries");
        },
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
