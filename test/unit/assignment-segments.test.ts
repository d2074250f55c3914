import { describe, expect, it } from "vitest";
import { createRandom } from "../../scripts/bench/gates/random.js";
import { analyse } from "../../src/rollouts/analysis/analyse.js";
import { assignmentCheck, trafficWindows, type PercentChange } from "../../src/rollouts/analysis/assignment-check.js";
import type { PoolableObservation } from "../../src/rollouts/analysis/pool.js";
import { segmentsCheck } from "../../src/rollouts/analysis/segments-check.js";
import { DEFAULT_GATE_POLICY, parseGatePolicy } from "../../src/rollouts/gate-policy.js";
import { decide } from "../../src/rollouts/gates.js";

const at = (hour: number) => new Date(Date.UTC(2026, 0, 1, hour));
let seq = 0;
function obs(side: PoolableObservation["side"], hour: number, requests: number | undefined, metrics: Record<string, unknown> = { "latency.p95_ms": 1 }, hours = 1): PoolableObservation {
  return { id: `o${++seq}`, side, window_start: at(hour), window_end: at(hour + hours), metrics, ...(requests === undefined ? {} : { requests }) };
}

describe("sample-ratio mismatch", () => {
  it("flags the issue's example: 29.8 % of 20 000 requests where 10 % was expected → pause", () => {
    const r = assignmentCheck([{ candidate: 5_960, stable: 14_040, percent: 10 }])!;
    expect(r).toMatchObject({ metric: "assignment", verdict: "pause", method: "sequential", baseline: 0.1, candidate: 0.298, samples: { baseline: 14_040, candidate: 5_960 } });
    expect(r.summary).toBe("candidate served 29.8 % of 20 000 requests, expected 10 % (p < 0.000001): assignment is broken, results are not trustworthy: pause");
    expect(decide({ policy: DEFAULT_GATE_POLICY, traffic: [{ candidate: 5_960, stable: 14_040, percent: 10 }] }).action).toBe("pause");
  });

  it("passes a share consistent with the percent, each window at its own expected share", () => {
    const r = assignmentCheck([
      { candidate: 21, stable: 1_979, percent: 1 },
      { candidate: 498, stable: 9_502, percent: 5 },
      { candidate: 5_040, stable: 14_960, percent: 25 },
    ])!;
    expect(r.verdict).toBe("pass");
    expect(r.baseline).toBeCloseTo((20 + 500 + 5_000) / 32_000, 12);
    expect(r.summary).toMatch(/^candidate served 17\.4 % of 32 000 requests, expected 17\.3 % \(p = [\d.]+\): consistent with the assignment: pass$/);
  });

  it("a steady small bias in large traffic is found; the same share in little traffic is not", () => {
    expect(assignmentCheck(Array.from({ length: 10 }, () => ({ candidate: 10_600, stable: 89_400, percent: 10 })))!.verdict).toBe("pause");
    expect(assignmentCheck([{ candidate: 106, stable: 894, percent: 10 }])!.verdict).toBe("pass");
  });

  it("keeps the false alarm rate well under 0.1 % checked after every window (seeded A/A, 2 000 rollouts × 20 windows)", () => {
    const random = createRandom(2026);
    const draw = (n: number, p: number) => random.binomial(n, p);
    let alarms = 0;
    for (let r = 0; r < 2000; r++) {
      const windows = [];
      for (let w = 0; w < 20; w++) {
        const c = draw(2000, 0.1);
        windows.push({ candidate: c, stable: 2000 - c, percent: 10 });
        if (assignmentCheck(windows)!.verdict === "pause") {
          alarms++;
          break;
        }
      }
    }
    expect(alarms / 2000).toBeLessThan(0.002);
  });

  it("is no reason at all without windows, or with only empty ones", () => {
    expect(assignmentCheck([])).toBeUndefined();
    expect(assignmentCheck([{ candidate: 0, stable: 0, percent: 10 }])).toBeUndefined();
    expect(decide({ policy: DEFAULT_GATE_POLICY }).reasons.map((r) => r.metric)).toEqual(["observations"]);
  });
});

describe("trafficWindows", () => {
  const percents: PercentChange[] = [{ at: at(0), percent: 1 }, { at: at(3), percent: 5 }];

  it("pairs the sides by window, with the percent in force, oldest first", () => {
    const windows = trafficWindows([obs("stable", 4, 950), obs("candidate", 4, 50), obs("candidate", 0, 10), obs("stable", 0, 990)], percents);
    expect(windows).toEqual([{ candidate: 10, stable: 990, percent: 1 }, { candidate: 50, stable: 950, percent: 5 }]);
  });

  it("skips a window one side did not count, one whose percent changed inside it, and one before the rollout", () => {
    const windows = trafficWindows(
      [obs("stable", 5, 950), obs("candidate", 5, undefined), obs("stable", 2, 990, undefined, 2), obs("candidate", 2, 10, undefined, 2), obs("stable", -2, 1), obs("candidate", -2, 1)],
      percents,
    );
    expect(windows).toEqual([]);
  });

  it("takes the newest count when a side reported one window twice (not their sum)", () => {
    expect(trafficWindows([obs("candidate", 0, 12), obs("candidate", 0, 11), obs("stable", 0, 990)], percents)).toEqual([{ candidate: 12, stable: 990, percent: 1 }]);
  });

  it("analyse skips the check when the rollout has an allowlist", () => {
    const observations = [obs("stable", 0, 14_040), obs("candidate", 0, 5_960)];
    const base = { policy: DEFAULT_GATE_POLICY, observations, percent: 10, percents: [{ at: at(0), percent: 10 }] };
    expect(analyse(base).decision.reasons.find((r) => r.metric === "assignment")?.verdict).toBe("pause");
    expect(analyse({ ...base, allowlist: true }).decision.reasons.find((r) => r.metric === "assignment")).toBeUndefined();
  });
});

describe("required segments", () => {
  it("is inconclusive and names what is missing until every minimum is reached", () => {
    const r = segmentsCheck({ attack: 50, long_context: 50, high_cost: 50 }, { attack: 12, high_cost: 80 })!;
    expect(r).toMatchObject({ metric: "segments", verdict: "inconclusive", method: "point", threshold: "attack ≥ 50, high_cost ≥ 50, long_context ≥ 50" });
    expect(r.summary).toBe("the candidate's traffic is not representative yet: attack 12 of 50, long_context 0 of 50 (reached: high_cost 80 of 50): inconclusive");
  });

  it("passes once every minimum is reached", () => {
    const r = segmentsCheck({ attack: 50 }, { attack: 50, other: 1 })!;
    expect(r.verdict).toBe("pass");
    expect(r.summary).toBe("the candidate served every required segment: attack 50 of 50: pass");
  });

  it("adds no reason when the policy requires none", () => {
    expect(segmentsCheck({}, { attack: 1 })).toBeUndefined();
  });

  it("holds the rollout (the gate cannot say advance) until then", () => {
    const policy = parseGatePolicy({ required_segments: { attack: 50 } });
    const metrics = { "latency.p95_ms": 100 };
    expect(decide({ policy, baseline: metrics, candidate: metrics, segments: { attack: 49 } })).toMatchObject({ action: "hold", signal: "yellow" });
    expect(decide({ policy, baseline: metrics, candidate: metrics, segments: { attack: 50 } })).toMatchObject({ action: "advance", signal: "green" });
    expect(decide({ policy, baseline: metrics, candidate: metrics }).action).toBe("hold");
  });

  it("analyse sums the candidate's segments over the rollout", () => {
    const policy = parseGatePolicy({ required_segments: { attack: 50 } });
    const o = (side: PoolableObservation["side"], hour: number, attack: number): PoolableObservation => ({ ...obs(side, hour, undefined), segments: { attack } });
    const observations = [o("candidate", 1, 30), o("stable", 1, 500), o("candidate", 0, 25), o("stable", 0, 500)];
    const analysis = analyse({ policy, observations, percent: 1, stepStartedAt: at(1) });
    expect(analysis.candidate.segments).toEqual({ attack: 55 });
    expect(analysis.decision.reasons.find((r) => r.metric === "segments")!.verdict).toBe("pass");
  });
});
