/**
 * `npm run bench -- --only gates [--seed N]`: the gate bench. Seeded and deterministic; needs no
 * server and no database. Prints one row per target with the sequential gate's figure, today's
 * point gate's figure on the same simulated data beside it, and pass/fail for the sequential
 * gate (the point gate's figure says whether it would meet the same target).
 *
 * Definitions (per rollout of 20 windows, the gate asked after every window):
 *   rolled back        the decision was rollback (or stop) at some window
 *   false rollback     rolled back, in the A/A scenario
 *   false pause        the decision was pause at some window, in the A/A scenario
 *   reached advance    the decision was advance at some window: with the schedule's bake and
 *                      min_samples met the rollout would have moved a step
 *   stopped from advancing  the first decision that was not hold was pause or rollback: the
 *                      candidate never got a green light before it was stopped
 *   windows to detect  the median over all rollouts of the first window with a rollback
 */
import type { Row } from "../table.js";
import { advanced, medianFirst, paused, rolledBack, share, simulateScenario, stoppedFromAdvancing, type ScenarioRun, type SimulationOptions, type Scenario } from "./simulate.js";
import { BASELINE } from "./world.js";

export const SCENARIOS: Scenario[] = [
  { id: "aa", label: "A/A (candidate = stable)", candidate: BASELINE },
  { id: "sr80", label: "success rate 0.90 → 0.80", candidate: { ...BASELINE, success: 0.8 } },
  { id: "sr84", label: "success rate 0.90 → 0.84", candidate: { ...BASELINE, success: 0.84 } },
  { id: "p95x16", label: "p95 × 1.6", candidate: { ...BASELINE, p95Ms: BASELINE.p95Ms * 1.6 } },
  { id: "tok16", label: "tokens × 1.6", candidate: { ...BASELINE, tokens: BASELINE.tokens * 1.6 } },
  { id: "p95x13", label: "p95 × 1.3", candidate: { ...BASELINE, p95Ms: BASELINE.p95Ms * 1.3 } },
  { id: "sr89", label: "success rate 0.90 → 0.89 (inside the hold band)", candidate: { ...BASELINE, success: 0.89 } },
  // The complaint about the point gate: windows of a few hundred requests.
  { id: "aa300", label: "A/A, windows of 300 requests", candidate: BASELINE, requests: 300 },
];

export const DEFAULT_GATE_BENCH: Omit<SimulationOptions, "seed"> = { rollouts: 1000, windows: 20, requests: 2000 };

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const win = (m: number | undefined) => (m === undefined ? "never (median)" : `${m}`);

interface Target {
  measure: string;
  value(run: ScenarioRun, gate: "sequential" | "point"): number | undefined;
  show(v: number | undefined): string;
  /** undefined: informational. */
  ok?(v: number): boolean;
  target: string;
}

const TARGETS: Record<string, Target[]> = {
  aa: [
    { measure: "false rollback", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), ok: (v) => v <= 0.01, target: "≤ 1 %" },
    { measure: "false pause", value: (r, g) => share(r[g], paused), show: (v) => pct(v!), ok: (v) => v <= 0.05, target: "≤ 5 %" },
    { measure: "reached advance", value: (r, g) => share(r[g], advanced), show: (v) => pct(v!), target: "" },
    { measure: "median window of the first advance", value: (r, g) => medianFirst(r[g], ["advance"]), show: win, target: "" },
  ],
  sr80: [
    { measure: "rolled back within 20 windows", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), ok: (v) => v >= 0.99, target: "≥ 99 %" },
    { measure: "median windows to detect", value: (r, g) => medianFirst(r[g], ["rollback", "stop"]), show: win, target: "" },
  ],
  sr84: [
    { measure: "stopped from advancing (pause or roll back first)", value: (r, g) => share(r[g], stoppedFromAdvancing), show: (v) => pct(v!), ok: (v) => v >= 0.99, target: "≥ 99 %" },
    { measure: "rolled back by window 20", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), target: "" },
    { measure: "median windows to roll back", value: (r, g) => medianFirst(r[g], ["rollback", "stop"]), show: win, target: "" },
  ],
  p95x16: [{ measure: "rolled back within 20 windows", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), ok: (v) => v >= 0.99, target: "≥ 99 %" }],
  tok16: [{ measure: "rolled back within 20 windows", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), ok: (v) => v >= 0.99, target: "≥ 99 %" }],
  p95x13: [
    { measure: "paused or rolled back within 20 windows", value: (r, g) => share(r[g], (a) => paused(a) || rolledBack(a)), show: (v) => pct(v!), ok: (v) => v >= 0.99, target: "≥ 99 %" },
    { measure: "reached advance (a step with a 30 % slower p95)", value: (r, g) => share(r[g], advanced), show: (v) => pct(v!), target: "" },
  ],
  aa300: [
    { measure: "false rollback", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), ok: (v) => v <= 0.01, target: "≤ 1 %" },
    { measure: "false pause", value: (r, g) => share(r[g], paused), show: (v) => pct(v!), ok: (v) => v <= 0.05, target: "≤ 5 %" },
    { measure: "reached advance", value: (r, g) => share(r[g], advanced), show: (v) => pct(v!), target: "" },
  ],
  sr89: [
    { measure: "rolled back", value: (r, g) => share(r[g], rolledBack), show: (v) => pct(v!), ok: (v) => v <= 0.01, target: "≤ 1 %" },
    { measure: "reached advance", value: (r, g) => share(r[g], advanced), show: (v) => pct(v!), target: "" },
  ],
};

export interface GateBenchResult {
  rows: Row[];
  seconds: number;
  options: SimulationOptions;
  figures: Record<string, Record<string, { sequential: number | undefined; point: number | undefined }>>;
}

export function runGateBench(options: SimulationOptions, log: (line: string) => void = () => {}): GateBenchResult {
  const started = performance.now();
  const rows: Row[] = [];
  const figures: GateBenchResult["figures"] = {};
  SCENARIOS.forEach((scenario, index) => {
    log(`gates: ${scenario.label}, ${options.rollouts} rollouts × ${options.windows} windows`);
    const run = simulateScenario(scenario, index, options);
    figures[scenario.id] = {};
    for (const t of TARGETS[scenario.id] ?? []) {
      const seq = t.value(run, "sequential");
      const point = t.value(run, "point");
      figures[scenario.id]![t.measure] = { sequential: seq, point };
      const meets = t.ok && point !== undefined ? (t.ok(point) ? " (meets)" : " (misses)") : "";
      rows.push({
        measure: `gate: ${scenario.label}: ${t.measure}`,
        pinset: `sequential ${t.show(seq)}`,
        baseline: `point gate ${t.show(point)}${meets}`,
        target: t.target,
        ...(t.ok ? { pass: seq !== undefined && t.ok(seq) } : {}),
      });
    }
  });
  return { rows, seconds: (performance.now() - started) / 1000, options, figures };
}
