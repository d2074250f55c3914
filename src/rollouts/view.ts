import type { ObservedMetrics } from "./analysis/samples.js";
import { METRIC_NAMES } from "./metrics.js";
import type { ObservationRecord, RolloutRecord } from "./ports.js";

/** The rollout JSON of API.md, plus revision, timestamps and the ids of its evidence packs. */
export interface RolloutView {
  id: string;
  environment: string;
  stable: string;
  candidate: string;
  percent: number;
  allow: string[];
  state: RolloutRecord["state"];
  auto: boolean;
  /** The environment revision written by the rollout's latest step. */
  revision: number;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
  evidence: string[];
}

/**
 * Where the rollout's step stands (GET …/rollout only: it takes a gate evaluation). For a
 * running rollout `next_action` is what the schedule does next — by itself with `auto`, else
 * what it advises a person; a paused one waits for `resume`; an ended one has none (nulls).
 */
export interface RolloutStatusView extends RolloutView {
  step: { percent: number; bake_seconds: number; min_samples: number; samples: { baseline: number; candidate: number } } | null;
  step_started_at: string;
  bake_remaining_seconds: number | null;
  next_action: "advance" | "hold" | "pause" | "rollback" | "stop" | "resume" | null;
  next_action_reason: string | null;
}

export interface ObservationView {
  id: string;
  rollout_id: string;
  version_set: string;
  side: "stable" | "candidate";
  window_start: string;
  window_end: string;
  /** Plain numbers or sample forms, flat, in the documented order. */
  metrics: ObservedMetrics;
  requests: number | null;
  segments: Record<string, number> | null;
  sample_trace_ids: string[];
  /** "push" (POST …/observations) or "prometheus" (the analysis loop). */
  source: "push" | "prometheus";
  /** The PromQL a "prometheus" observation was read with, by query key. */
  queries?: Record<string, unknown>;
  created_at: string;
}

/** Basis points (hundredths of a percent) ↔ percent: the integer is what is stored and compared. */
export const toPercent = (basisPoints: number): number => basisPoints / 100;
export const toBasisPoints = (percent: number): number => Math.round(percent * 100);

export function presentRollout(row: RolloutRecord, evidence: string[] = []): RolloutView {
  return {
    id: row.id,
    environment: row.environment,
    stable: row.stable,
    candidate: row.candidate,
    percent: toPercent(row.basis_points),
    allow: [...row.allow],
    state: row.state,
    auto: row.auto,
    revision: row.revision,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ended_at: row.ended_at ? row.ended_at.toISOString() : null,
    evidence,
  };
}

/** jsonb keeps its own key order; answers list metrics in the documented order. */
function ordered(stored: Record<string, unknown>): ObservedMetrics {
  const metrics: ObservedMetrics = {};
  for (const name of METRIC_NAMES) {
    const value = stored[name];
    if (typeof value === "number" || (typeof value === "object" && value !== null)) metrics[name] = value as ObservedMetrics[typeof name];
  }
  return metrics;
}

export function presentObservation(row: ObservationRecord): ObservationView {
  return {
    id: row.id,
    rollout_id: row.rollout_id,
    version_set: row.version_set,
    side: row.side,
    window_start: row.window_start.toISOString(),
    window_end: row.window_end.toISOString(),
    metrics: ordered(row.metrics),
    requests: row.requests ?? null,
    segments: row.segments ?? null,
    sample_trace_ids: [...row.sample_trace_ids],
    source: row.source,
    ...(row.queries ? { queries: row.queries } : {}),
    created_at: row.created_at.toISOString(),
  };
}

/** The audit `target` of everything a rollout does. */
export function rolloutTarget(row: Pick<RolloutRecord, "environment" | "id">): string {
  return `environment/${row.environment}/rollout/${row.id}`;
}

/** What the audit log keeps of a rollout before and after a step. */
export function rolloutSnapshot(row: RolloutRecord): Record<string, unknown> {
  return { state: row.state, percent: toPercent(row.basis_points), stable: row.stable, candidate: row.candidate, revision: row.revision };
}
