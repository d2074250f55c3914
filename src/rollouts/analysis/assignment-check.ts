/**
 * Sample-ratio mismatch: is the candidate serving the share of requests its percent says? Pure.
 *
 *   trafficWindows(newestFirst, percents)  the windows both sides reported `requests` for, with
 *                                          the percent in force, oldest first
 *   assignmentCheck(windows)               the reason `assignment`, or undefined when there is
 *                                          nothing to check
 * The wiring skips the check (passes no windows) when the rollout has an allowlist: allowlisted
 * subjects get the candidate whatever their bucket, so the share has no expected value.
 *
 * Test: window i has Nᵢ requests in all and expects the candidate share pᵢ = percentᵢ / 100.
 * Under a working assignment S = Σ(cᵢ − Nᵢpᵢ) has mean 0 and variance V = ΣNᵢpᵢ(1 − pᵢ), each
 * window judged at its own share. z = S / √V is checked after every window with the same
 * normal-mixture sequence as the metrics (confidence-sequence.ts), so its always-valid p-value
 * (the running minimum of 1/Λ) can be watched continuously; a mismatch is p < 0.001, the
 * threshold GrowthBook uses. The pooled z finds a steady bias (the usual bug: a cache that
 * pins everyone to one side, a bot on one side) with far more power than a per-window
 * chi-square would; a window whose percent changed mid-way is left out, its share being unknown.
 */
import type { Reason } from "../reason.js";
import { alwaysValidP } from "./confidence-sequence.js";
import { count, percent } from "./format.js";
import type { PoolableObservation } from "./pool.js";

export const SRM_P = 0.001;
/** Requests at which the mismatch sequence is tightest; gross mismatches show long before. */
export const SRM_PLANNED_REQUESTS = 10_000;

export interface TrafficWindow {
  candidate: number;
  stable: number;
  /** The rollout's percent in force for the whole window. */
  percent: number;
}

export interface PercentChange {
  at: Date;
  percent: number;
}

/** The percent in force over [start, end], or undefined when it changed inside or is unknown. */
function percentOver(changes: readonly PercentChange[], start: Date, end: Date): number | undefined {
  let inForce: number | undefined;
  for (const change of changes) {
    const t = change.at.getTime();
    if (t <= start.getTime()) inForce = change.percent;
    else if (t < end.getTime()) return undefined;
  }
  return inForce;
}

/**
 * Pairs the two sides' `requests` by identical window (start and end). When a side reported
 * the same window twice, the newest observation's count is taken (two jobs reporting one
 * window's traffic report the same requests; adding them would double it). `percents`: the
 * rollout's start and every percent change since, oldest first.
 */
export function trafficWindows(newestFirst: readonly PoolableObservation[], percents: readonly PercentChange[]): TrafficWindow[] {
  const windows = new Map<string, { start: Date; end: Date; stable?: number; candidate?: number }>();
  for (const o of newestFirst) {
    if (typeof o.requests !== "number" || o.window_start === undefined || o.window_end === undefined) continue;
    const key = `${o.window_start.getTime()}/${o.window_end.getTime()}`;
    const w = windows.get(key) ?? { start: o.window_start, end: o.window_end };
    if (o.side === "stable") w.stable ??= o.requests;
    else w.candidate ??= o.requests;
    windows.set(key, w);
  }
  const paired: Array<TrafficWindow & { end: number }> = [];
  for (const w of windows.values()) {
    if (w.stable === undefined || w.candidate === undefined) continue;
    const p = percentOver(percents, w.start, w.end);
    if (p !== undefined) paired.push({ candidate: w.candidate, stable: w.stable, percent: p, end: w.end.getTime() });
  }
  return paired.sort((a, b) => a.end - b.end).map(({ candidate, stable, percent: p }) => ({ candidate, stable, percent: p }));
}

export function assignmentCheck(windows: readonly TrafficWindow[]): Reason | undefined {
  let s = 0;
  let v = 0;
  let total = 0;
  let candidates = 0;
  let expected = 0;
  let p = 1;
  for (const w of windows) {
    const n = w.candidate + w.stable;
    const share = w.percent / 100;
    if (n <= 0 || share <= 0 || share >= 1) continue;
    s += w.candidate - n * share;
    v += n * share * (1 - share);
    total += n;
    candidates += w.candidate;
    expected += n * share;
    p = Math.min(p, alwaysValidP(s / Math.sqrt(v), total, { alpha: SRM_P, planned: SRM_PLANNED_REQUESTS }));
  }
  if (total === 0) return undefined;
  const observed = candidates / total;
  const expectedShare = expected / total;
  const mismatch = p < SRM_P;
  const shown = p < 1e-6 ? "< 0.000001" : `= ${Number.parseFloat(p.toPrecision(2))}`;
  return {
    metric: "assignment",
    baseline: expectedShare,
    candidate: observed,
    threshold: `always-valid p < ${SRM_P} → mismatch`,
    verdict: mismatch ? "pause" : "pass",
    method: "sequential",
    interval: null,
    confidence: 1 - SRM_P,
    samples: { baseline: total - candidates, candidate: candidates },
    needed: null,
    summary: mismatch
      ? `candidate served ${percent(observed)} of ${count(total)} requests, expected ${percent(expectedShare)} (p ${shown}): assignment is broken, results are not trustworthy: pause`
      : `candidate served ${percent(observed)} of ${count(total)} requests, expected ${percent(expectedShare)} (p ${shown}): consistent with the assignment: pass`,
  };
}
