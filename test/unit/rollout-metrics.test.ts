import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerRolloutMetrics, rolloutSeries, type RolloutGaugeInput } from "../../src/analysis/rollout-metrics.js";
import { DEFAULT_GATE_POLICY } from "../../src/rollouts/gate-policy.js";
import { decide } from "../../src/rollouts/gates.js";

const decision = decide({
  policy: DEFAULT_GATE_POLICY,
  baseline: { "quality.success_rate": { count: 1800, trials: 2000 }, "latency.p95_ms": 900, "risk.pii_leaks": 0 },
  candidate: { "quality.success_rate": { count: 1500, trials: 2000 }, "latency.p95_ms": 950, "risk.pii_leaks": 0 },
});

const running: RolloutGaugeInput = {
  project: "support-bot",
  environment: "production",
  rollout: { id: "ro_1", state: "running", percent: 5, stable: "vs_a", candidate: "vs_b" },
  decision,
};

describe("rolloutSeries", () => {
  it("percent, one state series per state, info, signal, values per side and the interval", () => {
    expect(decision.signal).toBe("red");
    const env = { project: "support-bot", environment: "production" };
    const series = rolloutSeries([running]);
    expect(series.filter((s) => s.name.startsWith("pinset_rollout"))).toEqual([
      { name: "pinset_rollout_percent", labels: env, value: 5 },
      { name: "pinset_rollout_state", labels: { ...env, state: "running" }, value: 1 },
      { name: "pinset_rollout_state", labels: { ...env, state: "paused" }, value: 0 },
      { name: "pinset_rollout_state", labels: { ...env, state: "promoted" }, value: 0 },
      { name: "pinset_rollout_state", labels: { ...env, state: "aborted" }, value: 0 },
      { name: "pinset_rollout_info", labels: { ...env, rollout: "ro_1", stable: "vs_a", candidate: "vs_b" }, value: 1 },
    ]);
    expect(series.find((s) => s.name === "pinset_gate_signal")).toEqual({ name: "pinset_gate_signal", labels: env, value: 2 });
    const rate = series.filter((s) => s.labels.metric === "quality.success_rate");
    const reason = decision.reasons.find((r) => r.metric === "quality.success_rate")!;
    expect(rate).toEqual([
      { name: "pinset_gate_value", labels: { ...env, metric: "quality.success_rate", side: "stable" }, value: 0.9 },
      { name: "pinset_gate_value", labels: { ...env, metric: "quality.success_rate", side: "candidate" }, value: 0.75 },
      { name: "pinset_gate_interval_low", labels: { ...env, metric: "quality.success_rate" }, value: reason.interval!.low },
      { name: "pinset_gate_interval_high", labels: { ...env, metric: "quality.success_rate" }, value: reason.interval!.high },
    ]);
    // A point comparison has no interval; risk has its counts; pseudo-metrics are not metrics.
    expect(series.filter((s) => s.labels.metric === "latency.p95_ms").map((s) => s.name)).toEqual(["pinset_gate_value", "pinset_gate_value"]);
    expect(series.filter((s) => s.labels.metric === "risk.pii_leaks").map((s) => s.value)).toEqual([0, 0]);
  });

  it("no gate series for an ended rollout (its last red would hold an alert), nor before a decision", () => {
    const ended = rolloutSeries([{ ...running, rollout: { ...running.rollout, state: "aborted", percent: 0 } }]);
    expect(ended.some((s) => s.name.startsWith("pinset_gate_"))).toBe(false);
    expect(ended.find((s) => s.name === "pinset_rollout_state" && s.value === 1)!.labels.state).toBe("aborted");
    const undecided = rolloutSeries([{ ...running, decision: undefined }]);
    expect(undecided.some((s) => s.name.startsWith("pinset_gate_"))).toBe(false);
    const paused = rolloutSeries([{ ...running, rollout: { ...running.rollout, state: "paused" } }]);
    expect(paused.some((s) => s.name === "pinset_gate_signal")).toBe(true);
  });

  it("leaves out an unbounded end (a p95 that may lie in +Inf has no high)", () => {
    const open = rolloutSeries([{ ...running, decision: { signal: "yellow", reasons: [{ ...decision.reasons[0]!, metric: "latency.p95_ms", interval: { low: 1.2, high: null } }] } }]);
    expect(open.filter((s) => s.name.startsWith("pinset_gate_interval")).map((s) => s.name)).toEqual(["pinset_gate_interval_low"]);
  });
});

describe("registerRolloutMetrics", () => {
  it("reads the source once per scrape, and each scrape shows the current snapshot", async () => {
    const registry = new Registry();
    let calls = 0;
    let inputs: RolloutGaugeInput[] = [running];
    registerRolloutMetrics(registry, {
      source: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        return inputs;
      },
    });
    const first = await registry.metrics();
    expect(calls).toBe(1);
    expect(first).toContain('pinset_rollout_percent{project="support-bot",environment="production"} 5');
    expect(first).toContain('pinset_gate_signal{project="support-bot",environment="production"} 2');
    inputs = [];
    const second = await registry.metrics();
    expect(calls).toBe(2);
    expect(second).not.toContain("pinset_rollout_percent{");
    expect(second).toContain("# TYPE pinset_rollout_percent gauge");
  });

  it("a failing source empties the rollout gauges, reports the error, and /metrics still answers", async () => {
    const registry = new Registry();
    const errors: unknown[] = [];
    let fail = false;
    registerRolloutMetrics(registry, {
      source: () => {
        if (fail) throw new Error("database away");
        return [running];
      },
      onError: (e) => errors.push(e),
    });
    expect(await registry.metrics()).toContain("pinset_rollout_percent{");
    fail = true;
    const text = await registry.metrics();
    expect(text).not.toContain("pinset_rollout_percent{");
    expect(errors).toHaveLength(1);
  });

  it("recordRun counts runs by status and errors by kind", async () => {
    const registry = new Registry();
    const metrics = registerRolloutMetrics(registry, { source: () => [] });
    const env = { project: "support-bot", environment: "production" };
    metrics.recordRun({ ...env, status: "ok", errors: [] });
    metrics.recordRun({ ...env, status: "partial", errors: [{ kind: "empty_result" }, { kind: "empty_result" }, { kind: "timeout" }] });
    const text = await registry.metrics();
    expect(text).toContain('pinset_analysis_runs_total{project="support-bot",environment="production",status="ok"} 1');
    expect(text).toContain('pinset_analysis_runs_total{project="support-bot",environment="production",status="partial"} 1');
    expect(text).toContain('pinset_analysis_errors_total{project="support-bot",environment="production",kind="empty_result"} 2');
    expect(text).toContain('pinset_analysis_errors_total{project="support-bot",environment="production",kind="timeout"} 1');
  });
});
