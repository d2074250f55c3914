import type { BackgroundTask } from "../background.js";
import { DEFAULT_ANALYSIS_TICK_MS } from "../config.js";
import type { Logger } from "../logger.js";
import type { AnalysisService } from "./service.js";


/**
 * Wakes every `tickMs` and runs the analysis windows that have closed (AnalysisService.runDue).
 * Every instance runs one; the claim in the database makes exactly one of them run each window.
 * A tick waits for the previous one (a slow Prometheus never stacks runs), and stop() waits for
 * the tick in flight, so nothing is cut half-way when the database closes after it.
 */
export class AnalysisLoop implements BackgroundTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly log: Logger;

  constructor(
    private readonly analysis: Pick<AnalysisService, "runDue">,
    deps: { logger: Logger; tickMs?: number },
  ) {
    this.tickMs = deps.tickMs ?? DEFAULT_ANALYSIS_TICK_MS;
    this.log = deps.logger.child({ module: "analysis" });
  }

  private readonly tickMs: number;

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass now (also for tests); never throws. */
  tick(): Promise<void> {
    this.running ??= this.analysis
      .runDue()
      .then(
        () => undefined,
        (err: unknown) => this.log.warn({ err }, "analysis tick failed (database away?); the next tick retries"),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().then(() => this.schedule());
    }, this.tickMs);
    this.timer.unref();
  }
}
