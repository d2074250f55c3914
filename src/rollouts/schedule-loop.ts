/**
 * The schedule that advances itself: a background task in every instance that wakes every
 * `tickMs` (PINSET_ANALYSIS_TICK_MS, default 5 000), looks at each running rollout with
 * `auto: true` and carries out what the schedule says (analysis/schedule.ts): advance (the
 * step before 100 promotes), pause (the gate says pause, or "not enough traffic"), abort (the
 * gate says rollback), abort and freeze (stop). Holds do nothing.
 *
 * Exactly one instance acts for each step, however many run on one database:
 *   1. the rollout is judged from a plain read (cheap; most ticks end here with a hold);
 *   2. to act, the instance takes the environment row lock (RolloutSteps.transact, as every step,
 *      observation and deploy does) and re-reads the live rollout: unless it is still the same
 *      rollout, running, at the same revision, another instance or a person acted first and
 *      this one does nothing;
 *   3. it judges again inside that transaction (an observation may have arrived) and writes the
 *      step with a compare-and-set on the rollout's revision (RolloutStore.update).
 * The step, its history entry (actor `system:gate`, detail `automatic: true` with the decision
 * and the schedule's reason) and its audit entry commit together or not at all. A failing tick
 * (the database away) is logged and the next tick starts again from a fresh read, so a step whose
 * commit succeeded but whose answer was lost is seen as done (a new revision) and never repeated.
 */
import { randomBytes } from "node:crypto";
import type { BackgroundTask } from "../background.js";
import { DEFAULT_ANALYSIS_TICK_MS } from "../config.js";
import type { Actor } from "../core/actor.js";
import type { Logger } from "../logger.js";
import { evaluate, type Evaluation, type EvaluationSources } from "./evaluate.js";
import { nextStep } from "./gate-policy.js";
import { StaleRolloutError, type RolloutRecord, type RolloutStore } from "./ports.js";
import type { RolloutService } from "./service.js";
import { FULL, type RolloutSteps } from "./steps.js";
import { toBasisPoints, toPercent } from "./view.js";

/** The actor of automatic steps in history and audit. */
export const GATE_ACTOR = "system:gate";

const REASON_MAX = 1024;

export interface ScheduleLoopOptions {
  tickMs: number;
  now: () => Date;
}

export type AutomaticAction = "advance" | "promote" | "pause" | "abort" | "stop";

/** The rollouts engine the loop drives (compose.ts hands it over). */
export interface ScheduleParts {
  rollouts: RolloutService;
  steps: RolloutSteps;
  store: RolloutStore;
  sources: EvaluationSources;
}

export class ScheduleLoop implements BackgroundTask {
  private readonly options: ScheduleLoopOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private stopping = false;

  constructor(
    private readonly parts: ScheduleParts,
    deps: { logger: Logger; options?: Partial<ScheduleLoopOptions> },
  ) {
    this.options = { tickMs: DEFAULT_ANALYSIS_TICK_MS, now: () => new Date(), ...deps.options };
    this.log = deps.logger.child({ module: "schedule" });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every running auto rollout (also for tests); never throws. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule(this.options.tickMs));
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    let rows: RolloutRecord[];
    try {
      rows = await this.parts.store.runningAuto();
    } catch (err) {
      this.log.warn({ err }, "the schedule could not list running rollouts; will retry");
      return;
    }
    for (const row of rows) {
      // Stopping (the app shuts down): leave the rest for the next instance's tick.
      if (this.stopping) return;
      try {
        await this.consider(row);
      } catch (err) {
        if (err instanceof StaleRolloutError) continue;
        this.log.warn({ err, rollout: row.id, project: row.project, environment: row.environment }, "the schedule could not judge or step a rollout; will retry");
      }
    }
  }

  /** Judges one rollout and, when the schedule says so, steps it (at most once per revision). */
  private async consider(row: RolloutRecord): Promise<AutomaticAction | undefined> {
    const first = await evaluate(this.parts.sources, row, undefined, this.options.now());
    if (first.schedule.next_action === "hold") return undefined;
    const key = { project: row.project, environment: row.environment };
    const actor: Actor = { name: GATE_ACTOR, tokenId: null, traceId: randomBytes(16).toString("hex"), clientAddress: null };
    const steps = this.parts.steps;
    const done = await steps.transact(undefined, key, async (tx) => {
      const live = await this.parts.store.live(key, tx);
      if (!live || live.id !== row.id || live.revision !== row.revision || live.state !== "running" || !live.auto) return undefined;
      const evaluation = await evaluate(this.parts.sources, live, tx, this.options.now());
      const outcome = evaluation.schedule;
      const reason = `automatic: ${outcome.reason}`.slice(0, REASON_MAX);
      const detail = automaticDetail(evaluation);
      switch (outcome.next_action) {
        case "hold":
          return undefined;
        case "advance": {
          const next = nextStep(evaluation.policy, toPercent(live.basis_points));
          const basisPoints = next === undefined ? FULL : toBasisPoints(next);
          const after = await steps.advance(tx, actor, key, live, { basisPoints, forced: false, decision: evaluation.decision, reason, detail });
          return { row: after, action: after.state === "promoted" ? ("promote" as const) : ("advance" as const) };
        }
        case "pause":
          return { row: await steps.pause(tx, actor, key, live, { reason, detail }), action: "pause" as const };
        case "rollback":
          return { row: await steps.abort(tx, actor, key, live, { reason, detail }), action: "abort" as const };
        case "stop":
          return { row: await steps.abort(tx, actor, key, live, { reason, detail, freeze: true }), action: "stop" as const };
      }
    });
    if (!done) return undefined;
    this.log.info({ rollout: row.id, project: row.project, environment: row.environment, action: done.action, trace_id: actor.traceId }, "automatic rollout step");
    if (done.row.state === "promoted") await this.parts.rollouts.writeAfterEnd(actor, done.row, "promoted");
    if (done.row.state === "aborted") await this.parts.rollouts.writeAfterEnd(actor, done.row, "aborted");
    return done.action;
  }
}

/** What an automatic step's history entry keeps: that it was automatic, the schedule and the decision. */
function automaticDetail(evaluation: Evaluation): Record<string, unknown> {
  const s = evaluation.schedule;
  return {
    automatic: true,
    schedule: { next_action: s.next_action, reason: s.reason, step: evaluation.analysis.step, samples: evaluation.analysis.samples },
    decision: evaluation.decision,
  };
}
