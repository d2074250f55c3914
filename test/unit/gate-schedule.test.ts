import { describe, expect, it } from "vitest";
import { analyse, schedule } from "../../src/rollouts/analysis/analyse.js";
import { nextAction, stepSamples, type ScheduleInput } from "../../src/rollouts/analysis/schedule.js";
import { UnprocessableError } from "../../src/core/errors.js";
import { DEFAULT_GATE_POLICY, nextStep, normaliseSteps, parseGatePolicy, stepAt } from "../../src/rollouts/gate-policy.js";

function paths(input: unknown, base = DEFAULT_GATE_POLICY): string[] {
  try {
    parseGatePolicy(input, base);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableError);
    expect((error as UnprocessableError).status).toBe(422);
    return ((error as UnprocessableError).errors ?? []).map((e) => e.path).sort();
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe("gate policy: statistics and schedule fields", () => {
  it("a policy stored before issue 14 still parses and gets the new defaults", () => {
    const stored = {
      quality: { pass_drop: 0, hold_drop: 0.03, pause_drop: 0.05 },
      latency: { pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.25, timeout_rate_ratio: 2 },
      cost: { pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.25 },
      risk: { max_events: 0 },
      steps: [10, 100],
    };
    expect(parseGatePolicy(stored)).toEqual({ ...stored, confidence: 0.95, required_segments: {}, default_bake_seconds: 21_600, default_min_samples: 500, max_bake_factor: 3 });
  });

  it("accepts steps as numbers or objects and normalises each to a full object", () => {
    const p = parseGatePolicy({
      steps: [1, { percent: 5, bake_seconds: 3600 }, { percent: 50, min_samples: 2000 }, { percent: 100, bake_seconds: 0, min_samples: 0 }],
      default_bake_seconds: 7200,
      default_min_samples: 1000,
    });
    expect(normaliseSteps(p)).toEqual([
      { percent: 1, bake_seconds: 7200, min_samples: 1000 },
      { percent: 5, bake_seconds: 3600, min_samples: 1000 },
      { percent: 50, bake_seconds: 7200, min_samples: 2000 },
      { percent: 100, bake_seconds: 0, min_samples: 0 },
    ]);
    expect(nextStep(p, 1)).toBe(5);
    expect(nextStep(p, 5)).toBe(50);
    expect(nextStep(p, 100)).toBeUndefined();
    expect(stepAt(p, 5)).toEqual({ percent: 5, bake_seconds: 3600, min_samples: 1000 });
    expect(stepAt(p, 7)).toEqual({ percent: 7, bake_seconds: 7200, min_samples: 1000 });
  });

  it("default steps are 1 → 5 → 25 → 50 → 100 at 6 h and 500 samples", () => {
    expect(normaliseSteps(DEFAULT_GATE_POLICY).map((s) => [s.percent, s.bake_seconds, s.min_samples])).toEqual([
      [1, 21_600, 500], [5, 21_600, 500], [25, 21_600, 500], [50, 21_600, 500], [100, 21_600, 500],
    ]);
  });

  it("merges the new scalars and replaces required_segments whole", () => {
    const base = parseGatePolicy({ required_segments: { attack: 50, long_context: 50 }, confidence: 0.99 });
    const p = parseGatePolicy({ required_segments: { high_cost: 10 }, max_bake_factor: 2 }, base);
    expect(p).toMatchObject({ required_segments: { high_cost: 10 }, confidence: 0.99, max_bake_factor: 2 });
    expect(parseGatePolicy({ required_segments: {} }, base).required_segments).toEqual({});
  });

  it.each([
    ["falling steps (numbers)", { steps: [5, 1, 100] }, ["steps.1"]],
    ["falling steps (objects)", { steps: [{ percent: 5 }, { percent: 1 }, 100] }, ["steps.1.percent"]],
    ["a step above 100", { steps: [1, { percent: 101 }] }, ["steps.1.percent"]],
    ["last step not 100", { steps: [1, { percent: 50 }] }, ["steps.1.percent"]],
    ["negative bake", { steps: [1, { percent: 100, bake_seconds: -1 }] }, ["steps.1.bake_seconds"]],
    ["fractional bake", { steps: [{ percent: 1, bake_seconds: 1.5 }, 100] }, ["steps.0.bake_seconds"]],
    ["bake over 30 days", { steps: [{ percent: 1, bake_seconds: 2_592_001 }, 100] }, ["steps.0.bake_seconds"]],
    ["negative min_samples", { steps: [{ percent: 1, min_samples: -5 }, 100] }, ["steps.0.min_samples"]],
    ["unknown step field", { steps: [{ percent: 1, bake: 5 }, 100] }, ["steps.0.bake"]],
    ["a step of the wrong type", { steps: ["1", 100] }, ["steps.0"]],
    ["confidence too low", { confidence: 0.4 }, ["confidence"]],
    ["confidence too high", { confidence: 0.9999 }, ["confidence"]],
    ["negative default bake", { default_bake_seconds: -1 }, ["default_bake_seconds"]],
    ["fractional default min_samples", { default_min_samples: 2.5 }, ["default_min_samples"]],
    ["max_bake_factor below 1", { max_bake_factor: 0.5 }, ["max_bake_factor"]],
    ["a bad segment name", { required_segments: { "Long Context": 5 } }, ["required_segments.Long Context"]],
    ["a segment minimum of 0", { required_segments: { attack: 0 } }, ["required_segments.attack"]],
    ["required_segments not an object", { required_segments: ["attack"] }, ["required_segments"]],
    ["auto belongs to the rollout", { auto_advance: true }, ["auto_advance"]],
  ] as const)("%s → 422 naming the path", (_name, input, expected) => {
    expect(paths(input)).toEqual([...expected]);
  });
});

describe("stepSamples", () => {
  it("takes the smallest count among the metrics both sides report as samples", () => {
    expect(
      stepSamples(
        { metrics: { "quality.success_rate": { count: 9, trials: 900 }, "latency.p95_ms": { buckets: [{ le: "+Inf", count: 5000 }] }, "cost.tokens_per_request": 10 }, requests: 99_999 },
        { metrics: { "quality.success_rate": { count: 9, trials: 100 }, "latency.p95_ms": { buckets: [{ le: "+Inf", count: 400 }] }, "cost.tokens_per_request": { mean: 1, stddev: 0, count: 3 } }, requests: 1 },
      ),
    ).toEqual({ baseline: 900, candidate: 100 });
  });
  it("falls back to requests, then to 0 (plain numbers carry no sample size)", () => {
    expect(stepSamples({ metrics: { "latency.p95_ms": 900 }, requests: 5000 }, { metrics: { "latency.p95_ms": 950 }, requests: 50 })).toEqual({ baseline: 5000, candidate: 50 });
    expect(stepSamples({ metrics: { "latency.p95_ms": 900 }, requests: undefined }, { metrics: undefined, requests: undefined })).toEqual({ baseline: 0, candidate: 0 });
  });
});

describe("nextAction", () => {
  const start = new Date("2026-01-01T00:00:00Z");
  const hours = (h: number) => new Date(start.getTime() + h * 3_600_000);
  const base: ScheduleInput = {
    step: { percent: 5, bake_seconds: 6 * 3600, min_samples: 500 },
    stepStartedAt: start,
    now: hours(7),
    samples: { baseline: 20_000, candidate: 1_000 },
    decision: { action: "advance", signal: "green" },
    maxBakeFactor: 3,
    nextPercent: 25,
  };

  it("advances once baked, with enough samples on both sides and the gate saying advance", () => {
    expect(nextAction(base)).toEqual({ next_action: "advance", bake_remaining_seconds: 0, reason: "baked 7 h, samples baseline 20 000 / 500, candidate 1 000 / 500, the gate says advance (signal green) → 25 %" });
    expect(nextAction({ ...base, nextPercent: 100 }).reason).toMatch(/→ 100 % \(promote\)$/);
  });

  it("holds while baking, and says how long is left", () => {
    const out = nextAction({ ...base, now: hours(4.5) });
    expect(out).toMatchObject({ next_action: "hold", bake_remaining_seconds: 5400 });
    expect(out.reason).toMatch(/^baking: 1 h 30 min of the step's 6 h remain/);
  });

  it.each(["pause", "rollback", "stop"] as const)("acts on %s at once, baked or not", (action) => {
    expect(nextAction({ ...base, now: hours(0.1), decision: { action, signal: "red" } })).toMatchObject({ next_action: action, bake_remaining_seconds: 21_240 });
  });

  it("holds for samples after the bake, then pauses with 'not enough traffic' after max_bake_factor × bake", () => {
    const short = { ...base, samples: { baseline: 20_000, candidate: 120 } };
    expect(nextAction({ ...short, now: hours(10) })).toMatchObject({ next_action: "hold", reason: expect.stringMatching(/^baked; waiting for samples: baseline 20 000 \/ 500, candidate 120 \/ 500/) });
    const paused = nextAction({ ...short, now: hours(18) });
    expect(paused.next_action).toBe("pause");
    expect(paused.reason).toBe("not enough traffic: after 18 h (3 × the 6 h bake) the step has baseline 20 000 / 500, candidate 120 / 500 samples");
    expect(nextAction({ ...short, now: hours(17.9) }).next_action).toBe("hold");
  });

  it("after a resume the traffic deadline counts from the resume; the bake still from the step's start", () => {
    const short = { ...base, samples: { baseline: 20_000, candidate: 120 }, resumedAt: hours(19) };
    expect(nextAction({ ...short, now: hours(20) })).toMatchObject({ next_action: "hold", bake_remaining_seconds: 0 });
    expect(nextAction({ ...short, now: hours(36.9) }).next_action).toBe("hold");
    expect(nextAction({ ...short, now: hours(37) })).toMatchObject({ next_action: "pause", reason: expect.stringMatching(/^not enough traffic: after 18 h/) });
    // A resume before the step began (an earlier step's) changes nothing.
    expect(nextAction({ ...short, resumedAt: hours(-5), now: hours(18) }).next_action).toBe("pause");
  });

  it("a step without bake never pauses for traffic", () => {
    expect(nextAction({ ...base, step: { ...base.step, bake_seconds: 0 }, samples: { baseline: 0, candidate: 0 }, now: hours(1000) }).next_action).toBe("hold");
  });

  it("holds when the gate holds (inconclusive, no data), baked and sampled", () => {
    expect(nextAction({ ...base, decision: { action: "hold", signal: "yellow" } })).toMatchObject({ next_action: "hold", reason: "baked, samples baseline 20 000 / 500, candidate 1 000 / 500; the gate says hold (signal yellow)" });
  });
});

describe("analyse + schedule from observation rows", () => {
  it("pools the step's windows, judges, and schedules the next step", () => {
    const policy = parseGatePolicy({ steps: [{ percent: 5, bake_seconds: 3600, min_samples: 1000 }, 100] });
    const row = (id: string, side: "stable" | "candidate", hour: number, count: number, trials: number) => ({
      id, side, window_start: new Date(Date.UTC(2026, 0, 1, hour)), window_end: new Date(Date.UTC(2026, 0, 1, hour + 1)),
      metrics: { "quality.success_rate": { count, trials } }, requests: trials,
    });
    const observations = [row("c2", "candidate", 2, 4_500, 5_000), row("b2", "stable", 2, 85_500, 95_000), row("c1", "candidate", 1, 0, 5_000), row("b1", "stable", 1, 0, 95_000)];
    const stepStartedAt = new Date(Date.UTC(2026, 0, 1, 2));
    const analysis = analyse({ policy, observations, percent: 5, stepStartedAt, percents: [{ at: new Date(Date.UTC(2026, 0, 1, 0)), percent: 5 }] });
    expect(analysis.candidate.metrics).toEqual({ "quality.success_rate": { count: 4_500, trials: 5_000 } });
    expect(analysis.samples).toEqual({ baseline: 95_000, candidate: 5_000 });
    expect(analysis.step).toEqual({ percent: 5, bake_seconds: 3600, min_samples: 1000 });
    expect(analysis.decision.reasons.map((r) => [r.metric, r.verdict])).toEqual([["quality.success_rate", "pass"], ["assignment", "pass"]]);
    expect(schedule(analysis, { policy, stepStartedAt, now: new Date(Date.UTC(2026, 0, 1, 3, 30)) })).toMatchObject({ next_action: "advance", reason: expect.stringMatching(/→ 100 % \(promote\)$/) });
    expect(schedule(analysis, { policy, stepStartedAt, now: new Date(Date.UTC(2026, 0, 1, 2, 30)) })).toMatchObject({ next_action: "hold", bake_remaining_seconds: 1800 });
  });
});
