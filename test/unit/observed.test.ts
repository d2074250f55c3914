import { describe, expect, it } from "vitest";
import { observedSides, type ObservationLike } from "../../src/rollouts/observed.js";

const obs = (id: string, side: ObservationLike["side"], metrics: Record<string, number>): ObservationLike => ({ id, side, metrics });

describe("observedSides", () => {
  it("gives undefined metrics to a side without observations", () => {
    expect(observedSides([obs("o1", "candidate", { "latency.p95_ms": 1 })]).baseline).toEqual({ metrics: undefined, observations: [] });
  });

  it("takes each metric from the newest observation that reports it", () => {
    const { candidate } = observedSides([
      obs("o3", "candidate", { "latency.p95_ms": 900 }),
      obs("o2", "stable", { "latency.p95_ms": 1 }),
      obs("o1", "candidate", { "latency.p95_ms": 1200, "quality.success_rate": 0.9 }),
    ]);
    expect(candidate).toEqual({ metrics: { "latency.p95_ms": 900, "quality.success_rate": 0.9 }, observations: ["o3", "o1"] });
  });

  it("sums risk counts over every observation, so a clean window cannot hide an earlier event", () => {
    const { candidate } = observedSides([
      obs("o3", "candidate", { "risk.pii_leaks": 0, "risk.injection_success": 0 }),
      obs("o2", "candidate", { "risk.pii_leaks": 2 }),
      obs("o1", "candidate", { "risk.pii_leaks": 1 }),
    ]);
    expect(candidate.metrics).toEqual({ "risk.pii_leaks": 3, "risk.injection_success": 0 });
  });

  it("ignores names that are not metrics", () => {
    expect(observedSides([obs("o1", "stable", { "quality.vibes": 1, "cost.tokens_per_request": 10 })]).baseline.metrics).toEqual({ "cost.tokens_per_request": 10 });
  });
});
