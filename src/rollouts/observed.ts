/**
 * What the gate compares: for each side of a rollout, the metrics its observations reported.
 *
 * - A plain-number metric's value is the one in the most recent observation of that side that
 *   reports it ("most recent" = latest window_end, then latest recorded), so a quality job and
 *   a latency job may report separately without hiding each other.
 * - Risk counts are the SUM over every observation of that side during the rollout: one
 *   injection that succeeded in an earlier window must not be outvoted by a clean later window
 *   (the source chapter's risk card: one event is enough).
 * - Sample forms are pooled (analysis/pool.ts, which holds all of these rules; this is its
 *   narrow view for callers that need only the values and the contributing ids).
 * Pure: the caller passes the rollout's observations, newest first.
 */
import { poolSides, type PoolableObservation } from "./analysis/pool.js";
import type { ObservedMetrics } from "./analysis/samples.js";

export interface ObservedSide {
  metrics: ObservedMetrics | undefined;
  /** Observation ids that contributed, newest first. */
  observations: string[];
}

export type ObservationLike = PoolableObservation;

export function observedSides(newestFirst: readonly ObservationLike[], options: { since?: Date } = {}): { baseline: ObservedSide; candidate: ObservedSide } {
  const { baseline, candidate } = poolSides(newestFirst, options);
  return {
    baseline: { metrics: baseline.metrics, observations: baseline.observations },
    candidate: { metrics: candidate.metrics, observations: candidate.observations },
  };
}
