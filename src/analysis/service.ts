import type { Principal } from "../core/principal.js";
import { AppError, NotFoundError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Logger } from "../logger.js";
import type { GateService } from "../rollouts/gate-service.js";
import { parseAnalysisConfig, presentAnalysisConfig, toStoredConfig, type AnalysisConfig, type AnalysisConfigView } from "./config.js";
import { evaluateAnalysis, type AnalysisErrorRecord, type Evaluation, type Side } from "./evaluate.js";
import { clientFromConfig, type PrometheusClientOptions } from "./prometheus-client.js";
import type { RolloutMetrics } from "./rollout-metrics.js";
import { redact } from "./secret.js";
import type { AnalysisConfigRecord, AnalysisRollouts, AnalysisRunRecord, AnalysisStore, AuditRecorder, RunningRollout } from "./ports.js";
import { type EnvironmentKey } from "../core/environment-key.js";

export interface AnalysisRunView {
  rollout_id: string;
  window_start: string;
  window_end: string;
  status: "ok" | "partial" | "failed";
  duration_ms: number;
  errors: unknown[];
  warnings: string[];
  notes: string[];
  observations: Record<string, string>;
  /** null, or "paused": this run reached consecutive_error_limit and paused the rollout. */
  action: string | null;
  created_at: string;
}

/** An environment with an analysis config and a running rollout: a candidate for the loop. */
interface AnalysedRollout {
  config: AnalysisConfigRecord;
  rollout: RunningRollout;
}

export interface AnalysisServiceDeps {
  store: AnalysisStore;
  rollouts: AnalysisRollouts;
  /** The gate: `policy` answers 404 for an unknown environment; `record` takes the loop's observations. */
  gates: Pick<GateService, "policy" | "record">;
  audit: AuditRecorder;
  logger: Logger;
  metrics?: RolloutMetrics;
  /** Tests hand in a fetch (a Prometheus that never answers, …); production uses the global one. */
  fetch?: PrometheusClientOptions["fetch"];
  now?: () => Date;
  newTraceId: () => string;
}

/** Who the loop's observations, runs and pauses are written as. */
export const ANALYSIS_ACTOR_NAME = "system:analysis";

export function presentRun(row: AnalysisRunRecord): AnalysisRunView {
  return {
    rollout_id: row.rollout_id,
    window_start: row.window_start.toISOString(),
    window_end: row.window_end.toISOString(),
    status: row.status,
    duration_ms: row.duration_ms,
    errors: row.errors,
    warnings: row.warnings,
    notes: row.notes,
    observations: row.observations,
    action: row.action,
    created_at: row.created_at.toISOString(),
  };
}

function label(key: EnvironmentKey): string {
  return `environment ${key.environment} of project ${key.project}`;
}

/**
 * An environment's analysis config, and the runs that read its rollout's four lines from
 * Prometheus. A run records one observation per side (source "prometheus") through the gate
 * exactly as a pushed one, so the gate and auto mode judge both alike. A failed measurement is
 * never a verdict: the metric is left out (no_data), the run says why, and only
 * `consecutive_error_limit` error runs in a row pause the rollout.
 */
export class AnalysisService {
  private readonly store: AnalysisStore;
  private readonly now: () => Date;

  constructor(private readonly deps: AnalysisServiceDeps) {
    this.store = deps.store;
    this.now = deps.now ?? (() => new Date());
  }

  async get(key: EnvironmentKey): Promise<AnalysisConfigView> {
    const row = await this.store.config(key);
    if (!row) {
      await this.deps.gates.policy(key); // 404 for an environment that does not exist
      throw new NotFoundError(`No analysis config on ${label(key)}: PUT one to read its metrics from Prometheus`);
    }
    return presentAnalysisConfig(parseAnalysisConfig(row.config));
  }

  /** Replaces the config (422 names every problem; nothing stored then). Audited without header values. */
  async put(actor: Actor, principal: Principal, key: EnvironmentKey, body: unknown): Promise<{ created: boolean; config: AnalysisConfigView }> {
    const config = parseAnalysisConfig(body);
    const view = presentAnalysisConfig(config);
    const created = await this.deps.rollouts.withEnvironmentLocked(principal, key, async (tx) => {
      const before = await this.store.config(key, tx);
      await this.store.saveConfig(tx, key, toStoredConfig(config), actor.name);
      await this.deps.audit.record(tx, actor, {
        project: key.project,
        action: "analysis.update",
        target: `environment/${key.environment}/analysis`,
        before: before ? presentAnalysisConfig(parseAnalysisConfig(before.config)) : null,
        after: view,
      });
      return before === undefined;
    });
    return { created, config: view };
  }

  async delete(actor: Actor, principal: Principal, key: EnvironmentKey): Promise<void> {
    await this.deps.rollouts.withEnvironmentLocked(principal, key, async (tx) => {
      const before = await this.store.config(key, tx);
      if (!before || !(await this.store.deleteConfig(tx, key))) throw new NotFoundError(`No analysis config on ${label(key)}`);
      await this.deps.audit.record(tx, actor, {
        project: key.project,
        action: "analysis.delete",
        target: `environment/${key.environment}/analysis`,
        before: presentAnalysisConfig(parseAnalysisConfig(before.config)),
      });
    });
  }

  async runs(key: EnvironmentKey, page: { limit: number; cursor?: string }): Promise<Page<AnalysisRunView>> {
    if (!(await this.store.config(key))) await this.deps.gates.policy(key); // 404 for an unknown environment
    const rows = await this.store.runs(key, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, presentRun);
  }

  /**
   * One pass of the loop: every running rollout whose window has closed is claimed (one instance
   * wins each window) and run. Resolves when the claimed runs are done; never throws for one
   * environment's failure.
   */
  async runDue(options: { limit?: number; concurrency?: number } = {}): Promise<number> {
    const now = this.now();
    const due = (await this.analysedRollouts(options.limit ?? 1_000)).flatMap((candidate) => {
      const window = this.nextWindow(candidate, now);
      return window ? [{ candidate, ...window }] : [];
    });
    let ran = 0;
    const queue = [...due];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const key = { project: next.candidate.config.project, environment: next.candidate.config.environment };
        try {
          const seen = { lastRollout: next.candidate.config.last_rollout, lastWindowEnd: next.candidate.config.last_window_end };
          if (!(await this.store.claim(key, seen, { rolloutId: next.candidate.rollout.id, windowEnd: next.end }))) continue;
          ran++;
          await this.run(key, next.candidate, next.config, next.end);
        } catch (error) {
          this.deps.logger.warn({ err: error, project: key.project, environment: key.environment }, "analysis run failed; the next tick tries the next window");
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, queue.length) }, worker));
    return ran;
  }

  /** Every environment with a config and a running rollout (paused rollouts are not read), by project then environment. */
  private async analysedRollouts(limit: number): Promise<AnalysedRollout[]> {
    const running = new Map<string, RunningRollout>();
    for (const r of await this.deps.rollouts.running()) running.set(JSON.stringify([r.project, r.environment]), r);
    const configs = await this.store.configsOf(
      [...running.values()].map((r) => ({ project: r.project, environment: r.environment })),
      limit,
    );
    return configs.map((config) => ({ config, rollout: running.get(JSON.stringify([config.project, config.environment]))! }));
  }

  /**
   * The window to run now, or none yet. Windows follow each other from the rollout's start
   * (`interval_seconds` each); after a gap (instances down, rollout paused) the next window is
   * the last interval before now, so a run never covers time it did not wait for.
   */
  private nextWindow(candidate: AnalysedRollout, now: Date): { config: AnalysisConfig; end: Date } | undefined {
    let config: AnalysisConfig;
    try {
      config = parseAnalysisConfig(candidate.config.config);
    } catch (error) {
      this.deps.logger.error({ err: error, project: candidate.config.project, environment: candidate.config.environment }, "stored analysis config no longer parses; skipped");
      return undefined;
    }
    const intervalMs = config.interval_seconds * 1000;
    const { last_rollout, last_window_end } = candidate.config;
    const from = last_rollout === candidate.rollout.id && last_window_end ? last_window_end : candidate.rollout.created_at;
    const due = from.getTime() + intervalMs;
    if (due > now.getTime()) return undefined;
    // Behind by more than a window: skip to the latest whole one.
    return { config, end: due + intervalMs <= now.getTime() ? now : new Date(due) };
  }

  private async run(key: EnvironmentKey, { rollout }: AnalysedRollout, config: AnalysisConfig, windowEnd: Date): Promise<void> {
    const actor: Actor = { name: ANALYSIS_ACTOR_NAME, tokenId: null, traceId: this.deps.newTraceId(), clientAddress: null };
    const started = performance.now();
    const client = clientFromConfig(config, this.deps.fetch ? { fetch: this.deps.fetch } : {});
    const evaluation = await evaluateAnalysis({
      config,
      project: key.project,
      environment: key.environment,
      sides: { stable: rollout.stable, candidate: rollout.candidate },
      windowEnd,
      client,
    });
    const errors: AnalysisErrorRecord[] = [...evaluation.errors];
    const observations: Record<string, string> = {};
    for (const side of ["stable", "candidate"] as const) {
      const observed = evaluation.observations[side];
      if (!observed) continue;
      try {
        const recorded = await this.deps.gates.record(actor, undefined, key, {
          versionSet: observed.version_set,
          windowStart: new Date(observed.window_start),
          windowEnd: new Date(observed.window_end),
          metrics: observed.metrics,
          ...(observed.requests !== undefined ? { requests: observed.requests } : {}),
          ...(observed.segments !== undefined ? { segments: observed.segments } : {}),
          source: "prometheus",
          queries: observed.queries,
        });
        observations[side] = recorded.id;
        // Auto mode may have ended the rollout on the first side's observation.
        if (recorded.rollout.state !== "running" && recorded.rollout.state !== "paused") break;
      } catch (error) {
        errors.push(rejected(side, error, config));
      }
    }
    const status: Evaluation["status"] = errors.length === 0 ? "ok" : Object.keys(observations).length > 0 ? "partial" : "failed";
    const count = await this.store.countRun(key, rollout.id, errors.length > 0);
    const action = count !== undefined && count >= config.consecutive_error_limit ? await this.pauseForErrors(actor, key, rollout.id, count, errors) : null;
    const durationMs = performance.now() - started;
    await this.store.insertRun(key, {
      rolloutId: rollout.id,
      windowStart: new Date(evaluation.window.start),
      windowEnd: new Date(evaluation.window.end),
      status,
      durationMs,
      errors,
      warnings: evaluation.warnings,
      notes: evaluation.notes,
      observations,
      action,
    });
    this.deps.metrics?.recordRun({ project: key.project, environment: key.environment, status, errors });
    this.deps.logger.info(
      { project: key.project, environment: key.environment, rollout: rollout.id, status, errors: errors.length, duration_ms: Math.round(durationMs), action, trace_id: actor.traceId },
      "analysis run",
    );
  }

  /** Pauses the rollout (if it still runs) after `count` error runs in a row: "paused", or null when nothing was done. */
  private async pauseForErrors(actor: Actor, key: EnvironmentKey, rolloutId: string, count: number, errors: AnalysisErrorRecord[]): Promise<string | null> {
    const last = errors[0];
    const reason = `analysis: ${count} runs in a row could not read the metrics${last ? ` (last: ${last.side} ${last.key}: ${last.message})` : ""}; a measurement failure is not a verdict, so the rollout waits for a person`;
    try {
      const paused = await this.deps.rollouts.pauseIfRunning(actor, key, rolloutId, { reason: reason.slice(0, 1024), detail: { analysis: { consecutive_errors: count } } });
      return paused ? "paused" : null;
    } catch (error) {
      this.deps.logger.warn({ err: error, project: key.project, environment: key.environment }, "analysis could not pause the rollout");
      return null;
    }
  }
}

/** The gate refused the observation (a rollout ended meanwhile, a value out of range): an analysis error. */
function rejected(side: Side, error: unknown, config: AnalysisConfig): AnalysisErrorRecord {
  const secrets = Object.values(config.provider.headers);
  if (error instanceof AppError) {
    const fields = error.errors?.map((f) => `${f.path}: ${f.message}`).join("; ");
    return { side, key: "observation", kind: "rejected", message: redact(`the registry refused the observation: ${error.message}${fields ? ` (${fields})` : ""}`, secrets) };
  }
  throw error;
}
