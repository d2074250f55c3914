/** The verdict vocabulary of the gate (gates.ts decides; the analysis modules each judge one kind of reason). */
import type { MetricName } from "./metric-names.js";

export type Verdict = "pass" | "hold" | "pause" | "rollback" | "stop" | "no_data" | "inconclusive";
export type Signal = "green" | "yellow" | "red" | "black";
export type Action = "advance" | "hold" | "pause" | "rollback" | "stop";

/** An interval's ends; null is unbounded (JSON has no infinity). */
export interface Interval {
  low: number | null;
  high: number | null;
}

export interface SidePair {
  baseline: number;
  candidate: number;
}

export interface Reason {
  /** A metric name; "observations" when a side has not reported at all; "assignment"; "segments". */
  metric: MetricName | "observations" | "assignment" | "segments";
  baseline: number | null;
  candidate: number | null;
  /** The condition met for the verdict, e.g. "≥ 0.92 (baseline − 0.03)". */
  threshold: string | number | null;
  verdict: Verdict;
  method: "point" | "sequential";
  /** The always-valid interval: a difference of rates, a ratio, or c − k·b for timeouts. */
  interval: Interval | null;
  confidence: number | null;
  /** Trials (rates), requests (histograms, assignment) or values (means) behind each side. */
  samples: SidePair | null;
  /** Roughly how many more trials per side would settle an inconclusive interval. */
  needed: SidePair | null;
  summary: string;
}
