/**
 * Simulated rollouts judged by the production gate (src/rollouts/gates.ts `decide`), twice on
 * the same data: the sequential gate on each side's samples pooled over the windows so far
 * (pool.ts' own pooling rules), and today's point gate on the plain numbers of the latest
 * window only (k/n, that window's histogram p95 interpolated, that window's mean tokens).
 *
 * A rollout is `windows` windows of `requests` requests per side (a fixed 50/50 split, one
 * step); the gate is asked after every window. A rollback ends that gate's rollout; a pause or
 * an advance does not (the bench keeps observing the same split, so each first occurrence is
 * counted and a later rollback is still seen). The planned sample size of the sequence is the
 * policy's default_min_samples (500).
 */
import { DEFAULT_GATE_POLICY, type GatePolicy } from "../../../src/rollouts/gate-policy.js";
import { decide, type Action } from "../../../src/rollouts/gates.js";
import { poolHistogram, poolMean, poolRate } from "../../../src/rollouts/analysis/pool.js";
import { pointOf } from "../../../src/rollouts/analysis/samples.js";
import { createRandom } from "./random.js";
import { BASELINE, drawWindow, prepare, type SideModel, type WindowSample } from "./world.js";

export interface Scenario {
  id: string;
  label: string;
  candidate: SideModel;
  /** Requests per side per window, when not the run's. */
  requests?: number;
}

/** One gate's decisions for one rollout, window by window, up to and including a rollback. */
export type Actions = Action[];

export interface ScenarioRun {
  scenario: Scenario;
  sequential: Actions[];
  point: Actions[];
}

export interface SimulationOptions {
  rollouts: number;
  windows: number;
  requests: number;
  seed: number;
  policy?: GatePolicy;
}

function pool(a: WindowSample | undefined, b: WindowSample): WindowSample {
  if (a === undefined) return b;
  return { success: poolRate(a.success, b.success), latency: poolHistogram(a.latency, b.latency), tokens: poolMean(a.tokens, b.tokens) };
}

const asSamples = (w: WindowSample) => ({ "quality.success_rate": w.success, "latency.p95_ms": w.latency, "cost.tokens_per_request": w.tokens });
const asPoints = (w: WindowSample) => ({
  "quality.success_rate": pointOf(w.success)!,
  "latency.p95_ms": pointOf(w.latency)!,
  "cost.tokens_per_request": pointOf(w.tokens)!,
});

/** A seed per (run seed, scenario, rollout): every rollout's data is reproducible on its own. */
function rolloutSeed(seed: number, scenario: number, rollout: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(scenario + 1, 0x85ebca6b) + Math.imul(rollout + 1, 0xc2b2ae35)) >>> 0;
}

export function simulateScenario(scenario: Scenario, index: number, o: SimulationOptions): ScenarioRun {
  const policy = o.policy ?? DEFAULT_GATE_POLICY;
  const planned = policy.default_min_samples;
  const baseline = prepare(BASELINE);
  const candidate = prepare(scenario.candidate);
  const requests = scenario.requests ?? o.requests;
  const run: ScenarioRun = { scenario, sequential: [], point: [] };
  for (let r = 0; r < o.rollouts; r++) {
    const random = createRandom(rolloutSeed(o.seed, index, r));
    let pooledB: WindowSample | undefined;
    let pooledC: WindowSample | undefined;
    const seq: Actions = [];
    const point: Actions = [];
    for (let w = 0; w < o.windows; w++) {
      const b = drawWindow(random, baseline, requests);
      const c = drawWindow(random, candidate, requests);
      pooledB = pool(pooledB, b);
      pooledC = pool(pooledC, c);
      if (seq.at(-1) !== "rollback") seq.push(decide({ policy, baseline: asSamples(pooledB), candidate: asSamples(pooledC), planned }).action);
      if (point.at(-1) !== "rollback") point.push(decide({ policy, baseline: asPoints(b), candidate: asPoints(c) }).action);
    }
    run.sequential.push(seq);
    run.point.push(point);
  }
  return run;
}

/** The 1-based window of the first action in `which`, or undefined. */
export function firstWindow(actions: Actions, which: readonly Action[]): number | undefined {
  const i = actions.findIndex((a) => which.includes(a));
  return i < 0 ? undefined : i + 1;
}

export const share = (runs: readonly Actions[], test: (a: Actions) => boolean): number => runs.filter(test).length / runs.length;

export const rolledBack = (a: Actions) => a.includes("rollback") || a.includes("stop");
export const paused = (a: Actions) => a.includes("pause");
export const advanced = (a: Actions) => a.includes("advance");
/** The first decision that is not hold is pause or rollback: the schedule never moved forward. */
export const stoppedFromAdvancing = (a: Actions) => {
  const first = a.find((x) => x !== "hold");
  return first === "pause" || first === "rollback" || first === "stop";
};

/** The median of the first windows at which `which` happened, counting rollouts where it never did as after the last window. */
export function medianFirst(runs: readonly Actions[], which: readonly Action[]): number | undefined {
  const firsts = runs.map((a) => firstWindow(a, which) ?? Number.POSITIVE_INFINITY).sort((x, y) => x - y);
  const m = firsts[Math.ceil(firsts.length / 2) - 1];
  return m === undefined || !Number.isFinite(m) ? undefined : m;
}
