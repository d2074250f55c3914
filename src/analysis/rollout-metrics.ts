/**
 * What `/metrics` says about rollouts and their gates, for Grafana (deploy/grafana/) and the
 * alert rules (deploy/prometheus/pinset-rules.yml).
 *
 *   const rm = registerRolloutMetrics(metrics.registry, { source, onError });
 *     source()   → the rollouts to show, read-only (sync or async; called once per scrape,
 *                  shared by every gauge): RolloutGaugeInput[]
 *     onError    called when source() fails; the rollout gauges are then empty for that scrape
 *                (a stale figure could hold an alert), /metrics still answers
 *   rm.recordRun({ project, environment, status, errors })   after every analysis run (the loop)
 *   rolloutSeries(inputs)  the pure part: the gauge samples for a snapshot
 *
 * Series (labels project, environment, plus those named):
 *   pinset_rollout_percent                          the candidate's percent
 *   pinset_rollout_state{state}                     one series per state (running, paused,
 *                                                   promoted, aborted): 1 for the rollout's, else 0
 *   pinset_rollout_info{rollout, stable, candidate} 1; names the sets (joins in dashboards)
 *   pinset_gate_signal                              0 green, 1 yellow, 2 red, 3 black
 *   pinset_gate_value{metric, side}                 the value compared, side stable | candidate
 *                                                   (rates as fractions, p95 in ms, tokens, counts)
 *   pinset_gate_interval_low / _high{metric}        the decision's interval where it has that end:
 *                                                   rates candidate − stable (fraction), p95 and
 *                                                   tokens candidate / stable, timeouts c − k·b. The
 *                                                   interval compares the sides, so it has no side.
 *   pinset_analysis_runs_total{status}              analysis runs: ok | partial | failed
 *   pinset_analysis_errors_total{kind}              failed queries and values, by AnalysisErrorKind
 * Gate series are exported while the rollout runs or is paused (an ended rollout's last red
 * signal would otherwise keep an alert firing); state, percent and info for every input.
 * The wiring passes each environment's current or most recent rollout.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Decision, Signal } from "../rollouts/gates.js";
import { METRIC_NAMES, type MetricName } from "../rollouts/metrics.js";
import type { AnalysisErrorKind } from "./errors.js";

export const ROLLOUT_STATES = ["running", "paused", "promoted", "aborted"] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const SIGNAL_VALUE: Record<Signal, number> = { green: 0, yellow: 1, red: 2, black: 3 };

export interface RolloutGaugeInput {
  project: string;
  environment: string;
  rollout: { id: string; state: RolloutState; percent: number; stable: string; candidate: string };
  /** The gate's current decision; omitted when not judged (yet). */
  decision?: Pick<Decision, "signal" | "reasons">;
}

export type RolloutMetricsSource = () => readonly RolloutGaugeInput[] | Promise<readonly RolloutGaugeInput[]>;

export interface SeriesSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const KNOWN_METRICS = new Set<string>(METRIC_NAMES);

/** The gauge samples for one snapshot. Pure. */
export function rolloutSeries(inputs: readonly RolloutGaugeInput[]): SeriesSample[] {
  const out: SeriesSample[] = [];
  for (const { project, environment, rollout, decision } of inputs) {
    const env = { project, environment };
    out.push({ name: "pinset_rollout_percent", labels: env, value: rollout.percent });
    for (const state of ROLLOUT_STATES) out.push({ name: "pinset_rollout_state", labels: { ...env, state }, value: state === rollout.state ? 1 : 0 });
    out.push({ name: "pinset_rollout_info", labels: { ...env, rollout: rollout.id, stable: rollout.stable, candidate: rollout.candidate }, value: 1 });
    if (!decision || (rollout.state !== "running" && rollout.state !== "paused")) continue;
    out.push({ name: "pinset_gate_signal", labels: env, value: SIGNAL_VALUE[decision.signal] });
    for (const reason of decision.reasons) {
      if (!KNOWN_METRICS.has(reason.metric)) continue;
      const metric = reason.metric as MetricName;
      if (reason.baseline !== null) out.push({ name: "pinset_gate_value", labels: { ...env, metric, side: "stable" }, value: reason.baseline });
      if (reason.candidate !== null) out.push({ name: "pinset_gate_value", labels: { ...env, metric, side: "candidate" }, value: reason.candidate });
      if (reason.interval?.low != null) out.push({ name: "pinset_gate_interval_low", labels: { ...env, metric }, value: reason.interval.low });
      if (reason.interval?.high != null) out.push({ name: "pinset_gate_interval_high", labels: { ...env, metric }, value: reason.interval.high });
    }
  }
  return out;
}

const ENV = ["project", "environment"] as const;
const GAUGES = {
  pinset_rollout_percent: { help: "Percent of subjects on the candidate version set of the environment's rollout", labels: ENV },
  pinset_rollout_state: { help: "The rollout's state: 1 for its state, 0 for the others (running, paused, promoted, aborted)", labels: [...ENV, "state"] },
  pinset_rollout_info: { help: "Always 1; names the rollout and its stable and candidate version sets", labels: [...ENV, "rollout", "stable", "candidate"] },
  pinset_gate_signal: { help: "The gate's signal for a running or paused rollout: 0 green, 1 yellow, 2 red, 3 black", labels: ENV },
  pinset_gate_value: { help: "The value the gate compares per metric and side (rates as fractions, p95 in ms, tokens per request, event counts)", labels: [...ENV, "metric", "side"] },
  pinset_gate_interval_low: { help: "Low end of the gate's interval per metric (rates: candidate - stable; p95, tokens: candidate / stable; timeouts: c - k*b)", labels: [...ENV, "metric"] },
  pinset_gate_interval_high: { help: "High end of the gate's interval per metric (rates: candidate - stable; p95, tokens: candidate / stable; timeouts: c - k*b)", labels: [...ENV, "metric"] },
} as const;

export interface RolloutMetrics {
  recordRun(run: { project: string; environment: string; status: "ok" | "partial" | "failed"; errors: readonly { kind: AnalysisErrorKind }[] }): void;
}

export function registerRolloutMetrics(registry: Registry, options: { source: RolloutMetricsSource; onError?: (error: unknown) => void }): RolloutMetrics {
  // One source() call per scrape: the registry calls every collect() in one synchronous loop
  // before awaiting any, so they all join the call in flight.
  let inflight: Promise<SeriesSample[]> | undefined;
  const snapshot = (): Promise<SeriesSample[]> => {
    inflight ??= Promise.resolve()
      .then(options.source)
      .then(rolloutSeries, (error: unknown) => {
        options.onError?.(error);
        return [];
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  for (const [name, spec] of Object.entries(GAUGES)) {
    new Gauge({
      name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [registry],
      async collect() {
        const samples = await snapshot();
        this.reset();
        for (const s of samples) if (s.name === name) this.set(s.labels, s.value);
      },
    });
  }
  const runs = new Counter({ name: "pinset_analysis_runs_total", help: "Analysis runs (Prometheus queries for both sides of a rollout) by status: ok, partial, failed", labelNames: [...ENV, "status"], registers: [registry] });
  const errors = new Counter({ name: "pinset_analysis_errors_total", help: "Analysis errors (a query or value that gave no number) by kind", labelNames: [...ENV, "kind"], registers: [registry] });
  return {
    recordRun({ project, environment, status, errors: failed }) {
      runs.inc({ project, environment, status });
      for (const e of failed) errors.inc({ project, environment, kind: e.kind });
    },
  };
}
