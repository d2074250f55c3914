/**
 * What the gate compares: for each side of a rollout, the metrics its observations reported.
 *
 * - A metric's value is the one in the most recent observation of that side that reports it
 *   ("most recent" = latest window_end, then latest recorded), so a quality job and a latency
 *   job may report separately without hiding each other.
 * - Risk counts are the SUM over every observation of that side during the rollout: one
 *   injection that succeeded in an earlier window must not be outvoted by a clean later window
 *   (the source chapter's risk card: one event is enough).
 * Pure: the caller passes the rollout's observations, newest first.
 */
import { METRIC_NAMES, type MetricName, type Metrics } from "./metrics.js";

export interface ObservedSide {
  metrics: Metrics | undefined;
  /** Observation ids that contributed, newest first. */
  observations: string[];
}

export interface ObservationLike {
  id: string;
  side: "stable" | "candidate";
  metrics: Record<string, number>;
}

const isRisk = (name: MetricName): boolean => name.startsWith("risk.");

function fold(newestFirst: readonly ObservationLike[]): ObservedSide {
  if (newestFirst.length === 0) return { metrics: undefined, observations: [] };
  const metrics: Metrics = {};
  for (const observation of newestFirst) {
    for (const name of METRIC_NAMES) {
      const value = observation.metrics[name];
      if (typeof value !== "number") continue;
      if (isRisk(name)) metrics[name] = (metrics[name] ?? 0) + value;
      else if (metrics[name] === undefined) metrics[name] = value;
    }
  }
  return { metrics, observations: newestFirst.map((o) => o.id) };
}

export function observedSides(newestFirst: readonly ObservationLike[]): { baseline: ObservedSide; candidate: ObservedSide } {
  return {
    baseline: fold(newestFirst.filter((o) => o.side === "stable")),
    candidate: fold(newestFirst.filter((o) => o.side === "candidate")),
  };
}
