import { describe, expect, it } from "vitest";
import { UnprocessableError } from "../../src/core/errors.js";
import {
  DEFAULT_GATE_POLICY,
  nextStep,
  parseGatePolicy,
  type GatePolicy,
} from "../../src/rollouts/gate-policy.js";
import { decide, type Decision, type Verdict } from "../../src/rollouts/gates.js";
import type { MetricName, Metrics } from "../../src/rollouts/metrics.js";

const policy = DEFAULT_GATE_POLICY;
/** What issue 14 added to every point reason: no interval, no sample size. */
const POINT = { method: "point", interval: null, confidence: null, samples: null, needed: null } as const;

/** The verdict for one metric compared on both sides. */
function verdictOf(metric: MetricName, baseline: number | undefined, candidate: number | undefined, p = policy): Verdict {
  const decision = decide({
    policy: p,
    baseline: baseline === undefined ? { "latency.p95_ms": 1 } : { [metric]: baseline },
    candidate: candidate === undefined ? { "latency.p95_ms": 1 } : { [metric]: candidate },
  });
  const reason = decision.reasons.find((r) => r.metric === metric);
  if (!reason) throw new Error(`no reason for ${metric}`);
  return reason.verdict;
}

function onlyReason(decision: Decision) {
  expect(decision.reasons).toHaveLength(1);
  return decision.reasons[0]!;
}

describe("decide — the default policy table, row by row", () => {
  describe.each(["quality.success_rate", "quality.adoption_rate"] as const)("%s (baseline 0.95)", (metric) => {
    it.each([
      [1, "pass"],
      [0.96, "pass"],
      [0.95, "pass"], // = baseline
      [0.9499, "hold"],
      [0.93, "hold"],
      [0.92, "hold"], // = baseline − 0.03 exactly (0.9199999999999999 in binary)
      [0.9199, "pause"],
      [0.91, "pause"],
      [0.9, "pause"], // = baseline − 0.05 exactly
      [0.8999, "rollback"],
      [0.5, "rollback"],
      [0, "rollback"],
    ] as const)("candidate %d → %s", (candidate, verdict) => {
      expect(verdictOf(metric, 0.95, candidate)).toBe(verdict);
    });
  });

  it("treats the quality boundaries as inclusive for every two-decimal baseline", () => {
    for (let i = 5; i <= 100; i++) {
      const b = i / 100;
      const at = (x: number) => Number(x.toFixed(4));
      expect(verdictOf("quality.success_rate", b, at(b)), `b=${b}`).toBe("pass");
      expect(verdictOf("quality.success_rate", b, at(b - 0.0001)), `b=${b}`).toBe("hold");
      expect(verdictOf("quality.success_rate", b, at(b - 0.03)), `b=${b}`).toBe("hold");
      expect(verdictOf("quality.success_rate", b, at(b - 0.0301)), `b=${b}`).toBe("pause");
      expect(verdictOf("quality.success_rate", b, at(b - 0.05)), `b=${b}`).toBe("pause");
      expect(verdictOf("quality.success_rate", b, at(b - 0.0501)), `b=${b}`).toBe("rollback");
    }
  });

  describe("latency.p95_ms (baseline 820 ms: ×1.10 = 902, ×1.15 = 943, ×1.25 = 1025)", () => {
    it.each([
      [0, "pass"],
      [700, "pass"],
      [820, "pass"],
      [902, "pass"], // 820 × 1.1 = 902.0000000000001
      [902.01, "hold"],
      [943, "hold"], // 820 × 1.15 = 942.9999999999999 — still hold
      [943.01, "pause"],
      [1025, "pause"], // 820 × 1.25 exactly
      [1025.01, "rollback"],
      [5000, "rollback"],
    ] as const)("candidate %d → %s", (candidate, verdict) => {
      expect(verdictOf("latency.p95_ms", 820, candidate)).toBe(verdict);
    });
  });

  describe("latency.timeout_rate (rollback when > 0 and ≥ 2 × baseline)", () => {
    it.each([
      [0.01, 0, "pass"],
      [0.01, 0.01, "pass"],
      [0.01, 0.0199, "pass"],
      [0.01, 0.02, "rollback"], // exactly doubled
      [0.015, 0.03, "rollback"], // 0.015 × 2 = 0.03 in floating point too
      [0.01, 0.5, "rollback"],
      [0.1, 0.2, "rollback"],
      [0, 0, "pass"], // 0 ≥ 2 × 0 but not > 0
      [0, 0.001, "rollback"], // any timeout when the baseline had none
    ] as const)("baseline %d, candidate %d → %s", (baseline, candidate, verdict) => {
      expect(verdictOf("latency.timeout_rate", baseline, candidate)).toBe(verdict);
    });
  });

  describe("cost.tokens_per_request (baseline 1000: ×1.10, ×1.15, ×1.25)", () => {
    it.each([
      [900, "pass"],
      [1100, "pass"],
      [1100.01, "hold"],
      [1150, "hold"],
      [1150.01, "pause"],
      [1250, "pause"],
      [1250.01, "rollback"],
    ] as const)("candidate %d → %s", (candidate, verdict) => {
      expect(verdictOf("cost.tokens_per_request", 1000, candidate)).toBe(verdict);
    });

    it("uses its own ratios from the policy (a boundary with binary noise: 1333 × 1.1)", () => {
      expect(verdictOf("cost.tokens_per_request", 1333, 1466.3)).toBe("pass");
      expect(verdictOf("cost.tokens_per_request", 1333, 1466.31)).toBe("hold");
    });
  });

  describe.each(["risk.injection_success", "risk.unauthorized_tool_calls", "risk.pii_leaks"] as const)(
    "%s",
    (metric) => {
      it("0 events → pass", () => expect(verdictOf(metric, 0, 0)).toBe("pass"));
      it("1 event → stop", () => expect(verdictOf(metric, 0, 1)).toBe("stop"));
      it("any event → stop, whatever the baseline", () => expect(verdictOf(metric, 7, 3)).toBe("stop"));
      it("0 events passes even when the baseline had some", () => expect(verdictOf(metric, 4, 0)).toBe("pass"));

      it("needs no baseline: an event on the candidate alone stops the rollout", () => {
        const decision = decide({ policy, baseline: { "latency.p95_ms": 800 }, candidate: { [metric]: 1 } });
        expect(decision).toMatchObject({ signal: "black", action: "stop" });
        expect(decision.reasons.find((r) => r.metric === metric)).toEqual({
          metric,
          baseline: null,
          candidate: 1,
          threshold: "> 0 events",
          verdict: "stop",
          ...POINT,
          summary: expect.stringMatching(/: 1 event on the candidate over the rollout, more than the 0 allowed: stop$/),
        });
      });

      it("a count on the baseline alone is no_data", () => {
        expect(verdictOf(metric, 1, undefined)).toBe("no_data");
      });
    },
  );
});

describe("decide — signal and action", () => {
  const passing: Metrics = { "quality.success_rate": 0.95, "latency.p95_ms": 800, "risk.pii_leaks": 0 };

  it("all pass → green / advance", () => {
    const decision = decide({ policy, baseline: passing, candidate: passing });
    expect(decision.signal).toBe("green");
    expect(decision.action).toBe("advance");
    expect(decision.reasons.map((r) => r.verdict)).toEqual(["pass", "pass", "pass"]);
  });

  it.each([
    [{ "latency.p95_ms": 900 }, "yellow", "hold"],
    [{ "latency.p95_ms": 1000 }, "yellow", "pause"],
    [{ "latency.p95_ms": 1001 }, "red", "rollback"],
    [{ "risk.pii_leaks": 1 }, "black", "stop"],
  ] as const)("one metric worse (%j) → %s / %s", (change, signal, action) => {
    const decision = decide({ policy, baseline: passing, candidate: { ...passing, ...change } });
    expect(decision).toMatchObject({ signal, action });
  });

  it("the worst verdict decides, whichever metric carries it", () => {
    const baseline: Metrics = {
      "quality.success_rate": 0.95,
      "quality.adoption_rate": 0.5,
      "latency.p95_ms": 800,
      "latency.timeout_rate": 0.01,
      "cost.tokens_per_request": 1000,
      "risk.injection_success": 0,
    };
    const hold = decide({ policy, baseline, candidate: { ...baseline, "quality.adoption_rate": 0.48 } });
    expect(hold).toMatchObject({ signal: "yellow", action: "hold" });

    const pause = decide({
      policy,
      baseline,
      candidate: { ...baseline, "quality.adoption_rate": 0.48, "cost.tokens_per_request": 1200 },
    });
    expect(pause).toMatchObject({ signal: "yellow", action: "pause" });

    const rollback = decide({
      policy,
      baseline,
      candidate: { ...baseline, "quality.adoption_rate": 0.48, "cost.tokens_per_request": 1200, "latency.timeout_rate": 0.02 },
    });
    expect(rollback).toMatchObject({ signal: "red", action: "rollback" });

    const stop = decide({
      policy,
      baseline,
      candidate: { ...baseline, "latency.timeout_rate": 0.02, "quality.success_rate": 0.1, "risk.injection_success": 1 },
    });
    expect(stop).toMatchObject({ signal: "black", action: "stop" });
    expect(stop.reasons.map((r) => r.verdict)).toEqual(["rollback", "pass", "pass", "rollback", "pass", "stop"]);
  });

  it("gives one reason per metric, in the stable metric order, with both values", () => {
    const decision = decide({
      policy,
      baseline: { "risk.pii_leaks": 0, "cost.tokens_per_request": 1000, "quality.adoption_rate": 0.4, "latency.p95_ms": 820 },
      candidate: { "latency.p95_ms": 943, "risk.pii_leaks": 0, "quality.adoption_rate": 0.39, "cost.tokens_per_request": 1000 },
    });
    expect(decision.reasons).toEqual([
      { metric: "quality.adoption_rate", baseline: 0.4, candidate: 0.39, threshold: "≥ 0.37 (baseline − 0.03)", verdict: "hold", ...POINT,
        summary: "adoption rate: candidate 39 % vs baseline 40 % (plain numbers, no sample size), ≥ 0.37 (baseline − 0.03): hold" },
      { metric: "latency.p95_ms", baseline: 820, candidate: 943, threshold: "≤ 943 (baseline × 1.15)", verdict: "hold", ...POINT,
        summary: "p95 latency: candidate 943 ms vs baseline 820 ms (plain numbers, no sample size), ≤ 943 (baseline × 1.15): hold" },
      { metric: "cost.tokens_per_request", baseline: 1000, candidate: 1000, threshold: "≤ 1100 (baseline × 1.1)", verdict: "pass", ...POINT,
        summary: "tokens per request: candidate 1 000 tokens vs baseline 1 000 tokens (plain numbers, no sample size), ≤ 1100 (baseline × 1.1): pass" },
      { metric: "risk.pii_leaks", baseline: 0, candidate: 0, threshold: "≤ 0 events", verdict: "pass", ...POINT,
        summary: "PII leaks: 0 events on the candidate over the rollout, at most 0 allowed: pass" },
    ]);
    expect(decision).toMatchObject({ signal: "yellow", action: "hold" });
  });

  it("states the condition the candidate met, for every band", () => {
    const reason = (metric: MetricName, b: number, c: number) =>
      decide({ policy, baseline: { [metric]: b }, candidate: { [metric]: c } }).reasons[0]!.threshold;
    expect(reason("quality.success_rate", 0.95, 0.97)).toBe("≥ 0.95 (baseline)");
    expect(reason("quality.success_rate", 0.95, 0.92)).toBe("≥ 0.92 (baseline − 0.03)");
    expect(reason("quality.success_rate", 0.95, 0.91)).toBe("≥ 0.9 (baseline − 0.05)");
    expect(reason("quality.success_rate", 0.95, 0.8)).toBe("< 0.9 (baseline − 0.05)");
    expect(reason("latency.p95_ms", 820, 820)).toBe("≤ 902 (baseline × 1.1)");
    expect(reason("latency.p95_ms", 820, 2000)).toBe("> 1025 (baseline × 1.25)");
    expect(reason("latency.timeout_rate", 0.01, 0.02)).toBe("≥ 0.02 (baseline × 2)");
    expect(reason("latency.timeout_rate", 0.01, 0.01)).toBe("< 0.02 (baseline × 2)");
    expect(reason("latency.timeout_rate", 0, 0.01)).toBe("> 0 (baseline is 0)");
  });
});

describe("decide — missing data", () => {
  it("no observation on either side → yellow / hold with a no_data reason", () => {
    for (const decision of [
      decide({ policy }),
      decide({ policy, baseline: {}, candidate: {} }),
    ]) {
      expect(decision.signal).toBe("yellow");
      expect(decision.action).toBe("hold");
      expect(onlyReason(decision)).toMatchObject({
        metric: "observations",
        baseline: null,
        candidate: null,
        verdict: "no_data",
      });
    }
  });

  it("no baseline yet → hold, each candidate metric no_data", () => {
    const decision = decide({ policy, candidate: { "quality.success_rate": 0.99, "latency.p95_ms": 100 } });
    expect(decision).toMatchObject({ signal: "yellow", action: "hold" });
    expect(decision.reasons).toEqual([
      expect.objectContaining({ metric: "observations", verdict: "no_data" }),
      { metric: "quality.success_rate", baseline: null, candidate: 0.99, threshold: null, verdict: "no_data", ...POINT,
        summary: "success rate: no value from the baseline yet: no_data" },
      { metric: "latency.p95_ms", baseline: null, candidate: 100, threshold: null, verdict: "no_data", ...POINT,
        summary: "p95 latency: no value from the baseline yet: no_data" },
    ]);
  });

  it("a clean candidate with only risk counts still holds while the baseline is unobserved", () => {
    const decision = decide({ policy, candidate: { "risk.pii_leaks": 0 } });
    expect(decision).toMatchObject({ signal: "yellow", action: "hold" });
    expect(decision.reasons.map((r) => [r.metric, r.verdict])).toEqual([
      ["observations", "no_data"],
      ["risk.pii_leaks", "pass"],
    ]);
  });

  it("no candidate yet → hold; a baseline risk count alone is no_data", () => {
    const decision = decide({ policy, baseline: { "quality.success_rate": 0.9, "risk.pii_leaks": 0 } });
    expect(decision).toMatchObject({ signal: "yellow", action: "hold" });
    expect(decision.reasons.map((r) => r.verdict)).toEqual(["no_data", "no_data", "no_data"]);
  });

  it("a metric observed on one side only → no_data, contributing hold", () => {
    const decision = decide({
      policy,
      baseline: { "quality.success_rate": 0.9, "latency.p95_ms": 800 },
      candidate: { "quality.success_rate": 0.95, "cost.tokens_per_request": 10 },
    });
    expect(decision).toMatchObject({ signal: "yellow", action: "hold" });
    expect(decision.reasons.map((r) => [r.metric, r.verdict])).toEqual([
      ["quality.success_rate", "pass"],
      ["latency.p95_ms", "no_data"],
      ["cost.tokens_per_request", "no_data"],
    ]);
  });

  it("no_data never hides a worse verdict", () => {
    const decision = decide({
      policy,
      baseline: { "latency.p95_ms": 800 },
      candidate: { "latency.p95_ms": 2000, "quality.success_rate": 0.9 },
    });
    expect(decision).toMatchObject({ signal: "red", action: "rollback" });
  });
});

describe("decide — custom policies", () => {
  it("applies custom quality drops", () => {
    const p = parseGatePolicy({ quality: { pass_drop: 0.01, hold_drop: 0.02, pause_drop: 0.1 } });
    expect(verdictOf("quality.success_rate", 0.95, 0.94, p)).toBe("pass");
    expect(verdictOf("quality.success_rate", 0.95, 0.93, p)).toBe("hold");
    expect(verdictOf("quality.success_rate", 0.95, 0.85, p)).toBe("pause");
    expect(verdictOf("quality.success_rate", 0.95, 0.8499, p)).toBe("rollback");
  });

  it("applies custom latency and cost ratios independently", () => {
    const p = parseGatePolicy({ latency: { pass_ratio: 1.5, hold_ratio: 2, pause_ratio: 3 } });
    expect(verdictOf("latency.p95_ms", 100, 150, p)).toBe("pass");
    expect(verdictOf("latency.p95_ms", 100, 200, p)).toBe("hold");
    expect(verdictOf("latency.p95_ms", 100, 300, p)).toBe("pause");
    expect(verdictOf("latency.p95_ms", 100, 301, p)).toBe("rollback");
    // cost keeps the defaults
    expect(verdictOf("cost.tokens_per_request", 100, 150, p)).toBe("rollback");
  });

  it("applies a custom timeout ratio", () => {
    const p = parseGatePolicy({ latency: { timeout_rate_ratio: 3 } });
    expect(verdictOf("latency.timeout_rate", 0.01, 0.02, p)).toBe("pass");
    expect(verdictOf("latency.timeout_rate", 0.01, 0.03, p)).toBe("rollback");
  });

  it("applies a custom risk tolerance", () => {
    const p = parseGatePolicy({ risk: { max_events: 2 } });
    expect(verdictOf("risk.pii_leaks", 0, 2, p)).toBe("pass");
    expect(verdictOf("risk.pii_leaks", 0, 3, p)).toBe("stop");
  });

  it("can make a band empty: hold_ratio = pass_ratio goes straight from pass to pause", () => {
    const p = parseGatePolicy({ cost: { pass_ratio: 1.1, hold_ratio: 1.1, pause_ratio: 1.2 } });
    expect(verdictOf("cost.tokens_per_request", 100, 110, p)).toBe("pass");
    expect(verdictOf("cost.tokens_per_request", 100, 111, p)).toBe("pause");
  });
});

describe("parseGatePolicy", () => {
  function rejected(input: unknown): { path: string; message: string }[] {
    let caught: unknown;
    try {
      parseGatePolicy(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnprocessableError);
    const error = caught as UnprocessableError;
    expect(error.status).toBe(422);
    expect(error.errors?.length).toBeGreaterThan(0);
    return error.errors ?? [];
  }
  const paths = (input: unknown) => rejected(input).map((e) => e.path);

  it("the default is API.md's table, plus issue 14's statistics and schedule", () => {
    expect(DEFAULT_GATE_POLICY).toEqual({
      quality: { pass_drop: 0, hold_drop: 0.03, pause_drop: 0.05 },
      latency: { pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.25, timeout_rate_ratio: 2 },
      cost: { pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.25 },
      risk: { max_events: 0 },
      steps: [1, 5, 25, 50, 100],
      confidence: 0.95,
      required_segments: {},
      default_bake_seconds: 21_600,
      default_min_samples: 500,
      max_bake_factor: 3,
    });
    expect(Object.isFrozen(DEFAULT_GATE_POLICY.latency)).toBe(true);
    expect(Object.isFrozen(DEFAULT_GATE_POLICY.steps)).toBe(true);
  });

  it("an empty object gives the default; the result is a fresh copy", () => {
    const parsed = parseGatePolicy({});
    expect(parsed).toEqual(DEFAULT_GATE_POLICY);
    parsed.steps.push(7);
    expect(DEFAULT_GATE_POLICY.steps).toEqual([1, 5, 25, 50, 100]);
  });

  it("merges a partial policy over the defaults, field by field; steps replace", () => {
    const parsed = parseGatePolicy({ latency: { pause_ratio: 1.5 }, risk: { max_events: 1 }, steps: [10, 100] });
    expect(parsed.latency).toEqual({ pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.5, timeout_rate_ratio: 2 });
    expect(parsed.cost).toEqual(DEFAULT_GATE_POLICY.cost);
    expect(parsed.risk.max_events).toBe(1);
    expect(parsed.steps).toEqual([10, 100]);
  });

  it("merges over a given base (e.g. the environment's current policy)", () => {
    const base = parseGatePolicy({ quality: { hold_drop: 0.04 } });
    const parsed = parseGatePolicy({ quality: { pause_drop: 0.08 } }, base);
    expect(parsed.quality).toEqual({ pass_drop: 0, hold_drop: 0.04, pause_drop: 0.08 });
  });

  it("rejects a pause band stricter than pass or hold (latency and cost)", () => {
    expect(paths({ latency: { pause_ratio: 1.05 } })).toEqual(["latency.pause_ratio"]);
    expect(paths({ latency: { pass_ratio: 1.2 } })).toEqual(["latency.hold_ratio"]);
    expect(paths({ cost: { pass_ratio: 1.3, hold_ratio: 1.2, pause_ratio: 1.1 } }).sort()).toEqual([
      "cost.hold_ratio",
      "cost.pause_ratio",
    ]);
    expect(rejected({ cost: { hold_ratio: 1.3 } })[0]!.message).toMatch(/pause_ratio \(1\.25\) must be ≥ hold_ratio \(1\.3\)/);
  });

  it("rejects quality drops out of order (pass ≥ hold ≥ pause in value terms)", () => {
    expect(paths({ quality: { hold_drop: 0.06 } })).toEqual(["quality.pause_drop"]);
    expect(paths({ quality: { pass_drop: 0.04 } })).toEqual(["quality.hold_drop"]);
  });

  it("rejects NaN, infinities, negatives and non-numbers", () => {
    expect(paths({ quality: { hold_drop: Number.NaN } })).toEqual(["quality.hold_drop"]);
    expect(paths({ latency: { pass_ratio: Infinity } })).toEqual(["latency.pass_ratio"]);
    expect(paths({ quality: { hold_drop: -0.03 } })).toEqual(["quality.hold_drop"]);
    expect(paths({ latency: { pass_ratio: -1 } })).toEqual(["latency.pass_ratio"]);
    expect(paths({ cost: { pass_ratio: 0 } })).toEqual(["cost.pass_ratio"]);
    expect(paths({ risk: { max_events: -1 } })).toEqual(["risk.max_events"]);
    expect(paths({ risk: { max_events: 0.5 } })).toEqual(["risk.max_events"]);
    expect(paths({ cost: { hold_ratio: "1.2" } })).toEqual(["cost.hold_ratio"]);
    expect(paths({ quality: { pause_drop: 1.5 } })).toEqual(["quality.pause_drop"]);
    expect(paths({ latency: { timeout_rate_ratio: 0.5 } })).toEqual(["latency.timeout_rate_ratio"]);
  });

  it("rejects bad steps", () => {
    expect(paths({ steps: [] })).toEqual(["steps"]);
    expect(paths({ steps: [5, 1, 100] })).toEqual(["steps.1"]);
    expect(paths({ steps: [1, 5, 5, 100] })).toEqual(["steps.2"]);
    expect(paths({ steps: [1, 50] })).toEqual(["steps.1"]);
    expect(paths({ steps: [0, 100] })).toEqual(["steps.0"]);
    expect(paths({ steps: [1, 101] })).toEqual(["steps.1"]);
    expect(paths({ steps: [-5, 100] })).toEqual(["steps.0"]);
    expect(paths({ steps: [1, 5.555, 100] })).toEqual(["steps.1"]);
    expect(paths({ steps: [1, Number.NaN, 100] })).toEqual(["steps.1"]);
    expect(paths({ steps: "1,5,100" })).toEqual(["steps"]);
    expect(parseGatePolicy({ steps: [0.01, 12.34, 100] }).steps).toEqual([0.01, 12.34, 100]);
    expect(parseGatePolicy({ steps: [100] }).steps).toEqual([100]);
  });

  it("rejects unknown fields, naming them", () => {
    expect(paths({ latency: { pause_raito: 1.3 } })).toEqual(["latency.pause_raito"]);
    expect(paths({ gates: {} })).toEqual(["gates"]);
  });

  it("rejects non-objects", () => {
    for (const input of [null, undefined, 3, "policy", []]) expect(rejected(input).length).toBeGreaterThan(0);
  });

  it("reports every problem of one kind at once", () => {
    expect(paths({ quality: { hold_drop: -1 }, latency: { pass_ratio: Number.NaN }, risk: { max_events: -1 } }).sort()).toEqual([
      "latency.pass_ratio",
      "quality.hold_drop",
      "risk.max_events",
    ]);
  });
});

describe("nextStep", () => {
  it("is the first step above the current percent", () => {
    const p: Pick<GatePolicy, "steps"> = DEFAULT_GATE_POLICY;
    expect(nextStep(p, 0)).toBe(1);
    expect(nextStep(p, 1)).toBe(5);
    expect(nextStep(p, 3)).toBe(5);
    expect(nextStep(p, 25)).toBe(50);
    expect(nextStep(p, 50)).toBe(100);
    expect(nextStep(p, 100)).toBeUndefined();
  });
});
