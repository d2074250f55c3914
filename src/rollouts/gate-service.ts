import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Principal } from "../core/principal.js";
import type { Tx } from "../core/transaction.js";
import { ConflictError, UnprocessableError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import { evaluate, explain, loadPolicy, type EvaluationSources } from "./evaluate.js";
import { parseGatePolicy, type GatePolicy } from "./gate-policy.js";
import type { Decision } from "./gates.js";
import { observationSamplesBody } from "./analysis/sample-schemas.js";
import type { ObservedMetrics } from "./analysis/samples.js";
import { observedMetricsSchema } from "./metrics.js";
import type { AuditRecorder, RolloutRecord, RolloutStores } from "./ports.js";
import type { RolloutService } from "./service.js";
import type { RolloutSteps } from "./steps.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { presentObservation, rolloutTarget, type ObservationView, type RolloutView } from "./view.js";

export interface ObservationInput {
  versionSet: string;
  windowStart: Date;
  windowEnd: Date;
  metrics: unknown;
  /** Requests this set served in the window: a whole number ≥ 0. */
  requests?: unknown;
  /** Segment name → requests of the window in it. */
  segments?: unknown;
  sampleTraceIds?: string[];
  /** Who measured: "push" (the route; the default) or "prometheus" (the analysis loop). */
  source?: "push" | "prometheus";
  /** The PromQL a "prometheus" observation was read with, by query key. */
  queries?: Record<string, unknown>;
}

/** The recorded observation, the decision it leads to, and the rollout after any automatic step. */
export interface ObservationRecorded extends ObservationView {
  /** The rollout after the observation (an `auto` rollout may have been paused or aborted by it). */
  decision: Decision;
  rollout: RolloutView;
}

const REASON_MAX = 1024;

const samplesSchema = z.object({ metrics: observedMetricsSchema, ...observationSamplesBody });

/**
 * Metrics (plain numbers or sample forms), `requests` and `segments`: every problem at once, each
 * named by its full path (`body.metrics.latency.p95_ms.buckets.3.count`, `body.segments.attack`).
 */
function parseSamples(input: ObservationInput): { metrics: ObservedMetrics; requests?: number; segments?: Record<string, number> } {
  const parsed = samplesSchema.safeParse({ metrics: input.metrics, requests: input.requests, segments: input.segments });
  if (parsed.success) return parsed.data;
  throw new UnprocessableError(
    "The observation's metrics or counts are invalid",
    parsed.error.issues.map((issue) => ({ path: ["body", ...issue.path.map(String)].join("."), message: issue.message })),
  );
}

/**
 * The gate's inputs: the per-environment policy and the observations. With an `auto` rollout,
 * the observation whose decision is pause / rollback / stop carries that step out in the same
 * transaction that records it (stop also freezes the environment).
 */
export interface GateServiceDeps {
  stores: RolloutStores;
  environments: EvaluationSources["environments"];
  audit: AuditRecorder;
  steps: RolloutSteps;
  rollouts: RolloutService;
}

export class GateService {
  constructor(private readonly deps: GateServiceDeps) {}

  private get sources(): EvaluationSources {
    return { policies: this.deps.stores.policies, observations: this.deps.stores.observations, environments: this.deps.environments };
  }

  async policy(key: EnvironmentKey): Promise<GatePolicy> {
    await this.deps.rollouts.requireEnvironment(key);
    return loadPolicy(this.deps.stores.policies, key);
  }

  /** Merges `input` over the policy in force (422 when the result is inconsistent); audited. */
  async setPolicy(actor: Actor, principal: Principal, key: EnvironmentKey, input: unknown): Promise<GatePolicy> {
    return this.deps.steps.transact(principal, key, async (tx) => {
      const before = await loadPolicy(this.deps.stores.policies, key, tx);
      const after = parseGatePolicy(input, before);
      await this.deps.stores.policies.save(tx, key, after, actor.name);
      await this.deps.audit.record(tx, actor, { project: key.project, action: "gate_policy.update", target: `environment/${key.environment}/gate-policy`, before, after });
      return after;
    });
  }

  /** `principal` undefined: the registry's own analysis loop (no token; protected environments do not apply). */
  async record(actor: Actor, principal: Principal | undefined, key: EnvironmentKey, input: ObservationInput): Promise<ObservationRecorded> {
    const { metrics, requests, segments } = parseSamples(input);
    if (input.windowEnd.getTime() < input.windowStart.getTime()) {
      throw new UnprocessableError("window_end is before window_start", [{ path: "body.window_end", message: "must not be before window_start" }]);
    }
    const rollouts = this.deps.rollouts;
    const { observation, decision, row } = await this.deps.steps.transact(principal, key, async (tx) => {
      const live = await this.deps.stores.rollouts.live(key, tx);
      if (!live) {
        throw new ConflictError(`No rollout is running or paused on environment ${key.environment}: observations feed a rollout's gate; start one first`);
      }
      const side = input.versionSet === live.stable ? "stable" : input.versionSet === live.candidate ? "candidate" : undefined;
      if (!side) {
        throw new UnprocessableError(
          `Version set ${input.versionSet} is not in rollout ${live.id} (stable ${live.stable}, candidate ${live.candidate})`,
          [{ path: "body.version_set", message: "must be the rollout's stable or candidate set" }],
        );
      }
      const observation = await this.deps.stores.observations.insert(tx, key, {
        id: `ob_${randomBytes(12).toString("hex")}`,
        rolloutId: live.id,
        versionSet: input.versionSet,
        side,
        windowStart: input.windowStart,
        windowEnd: input.windowEnd,
        metrics,
        ...(requests !== undefined ? { requests } : {}),
        ...(segments !== undefined ? { segments } : {}),
        sampleTraceIds: [...new Set(input.sampleTraceIds ?? [])],
        source: input.source ?? "push",
        queries: input.queries ?? null,
        createdBy: actor.name,
        traceId: actor.traceId,
      });
      await this.deps.audit.record(tx, actor, {
        project: key.project,
        action: "observation.record",
        target: rolloutTarget(live),
        after: { observation: observation.id, version_set: input.versionSet, side, window_start: input.windowStart, window_end: input.windowEnd, metrics, requests: requests ?? null, segments: segments ?? null },
      });
      const { decision } = await evaluate(this.sources, live, tx);
      const row = live.auto ? await this.autoStep(tx, actor, key, live, decision, observation.id) : live;
      return { observation, decision, row };
    });
    if (row.state === "aborted") await rollouts.writeAfterEnd(actor, row, "aborted");
    return { ...presentObservation(observation), decision, rollout: await rollouts.present(row) };
  }

  async list(key: EnvironmentKey, page: { limit: number; cursor?: string }): Promise<Page<ObservationView>> {
    await this.deps.rollouts.requireEnvironment(key);
    const rows = await this.deps.stores.observations.list(key, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    return toPage(rows, page.limit, (r) => r.seq, presentObservation);
  }

  /** API.md: pause → pause (when running), rollback → abort, stop → abort and freeze. */
  private async autoStep(tx: Tx, actor: Actor, key: EnvironmentKey, live: RolloutRecord, decision: Decision, observation: string): Promise<RolloutRecord> {
    const reason = `auto: ${explain(decision)}`.slice(0, REASON_MAX);
    const detail = { auto: true, observation, decision };
    const steps = this.deps.steps;
    switch (decision.action) {
      case "pause":
        return live.state === "running" ? steps.pause(tx, actor, key, live, { reason, detail }) : live;
      case "rollback":
        return steps.abort(tx, actor, key, live, { reason, detail });
      case "stop":
        return steps.abort(tx, actor, key, live, { reason, detail, freeze: true });
      default:
        return live;
    }
  }
}
