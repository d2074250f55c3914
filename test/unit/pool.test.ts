import { describe, expect, it } from "vitest";
import { poolHistogram, poolMean, poolRate, poolSides, type PoolableObservation } from "../../src/rollouts/analysis/pool.js";
import type { HistogramSample, MeanSample } from "../../src/rollouts/analysis/samples.js";
import { DEFAULT_GATE_POLICY } from "../../src/rollouts/gate-policy.js";
import { decide } from "../../src/rollouts/gates.js";

let seq = 0;
function obs(side: PoolableObservation["side"], hour: number, metrics: Record<string, unknown>, extra: Partial<PoolableObservation> = {}): PoolableObservation {
  const start = new Date(Date.UTC(2026, 0, 1, hour));
  return { id: `o${++seq}`, side, window_start: start, window_end: new Date(start.getTime() + 3_600_000), metrics, ...extra };
}
/** The store's order: newest window first. */
const newestFirst = (list: PoolableObservation[]) => [...list].sort((a, b) => b.window_end!.getTime() - a.window_end!.getTime());

function stats(values: number[]): MeanSample {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { mean, stddev: Math.sqrt(variance), count: values.length };
}

describe("pair-wise pooling", () => {
  it("rates: counts and trials add", () => {
    expect(poolRate({ count: 3, trials: 10 }, { count: 40, trials: 50 })).toEqual({ count: 43, trials: 60 });
  });

  it("histograms with the same bounds add bound by bound", () => {
    const a: HistogramSample = { buckets: [{ le: 100, count: 3 }, { le: 200, count: 8 }, { le: "+Inf", count: 10 }] };
    const b: HistogramSample = { buckets: [{ le: 100, count: 1 }, { le: 200, count: 1 }, { le: "+Inf", count: 5 }] };
    expect(poolHistogram(a, b)).toEqual({ buckets: [{ le: 100, count: 4 }, { le: 200, count: 9 }, { le: "+Inf", count: 15 }] });
  });

  it("histograms with different bounds pool on the bounds they share (counts there are exact)", () => {
    const a: HistogramSample = { buckets: [{ le: 100, count: 3 }, { le: 150, count: 6 }, { le: 200, count: 8 }, { le: "+Inf", count: 10 }] };
    const b: HistogramSample = { buckets: [{ le: 50, count: 0 }, { le: 200, count: 1 }, { le: 400, count: 4 }, { le: "+Inf", count: 5 }] };
    expect(poolHistogram(a, b)).toEqual({ buckets: [{ le: 200, count: 9 }, { le: "+Inf", count: 15 }] });
  });

  it("means pool exactly: the same mean and population stddev as the raw values together", () => {
    const x = [610, 598, 640, 701, 555, 600];
    const y = [900, 120, 433];
    const z = [1000];
    const pooled = poolMean(poolMean(stats(x), stats(y)), stats(z));
    const all = stats([...x, ...y, ...z]);
    expect(pooled.count).toBe(all.count);
    expect(pooled.mean).toBeCloseTo(all.mean, 9);
    expect(pooled.stddev).toBeCloseTo(all.stddev, 9);
    // order does not matter
    const other = poolMean(stats(z), poolMean(stats(y), stats(x)));
    expect(other.mean).toBeCloseTo(pooled.mean, 9);
    expect(other.stddev).toBeCloseTo(pooled.stddev, 9);
  });
});

describe("poolSides", () => {
  it("pools a side's samples over its windows and keeps the sides apart", () => {
    const { baseline, candidate } = poolSides(newestFirst([
      obs("stable", 0, { "quality.success_rate": { count: 90, trials: 100 } }),
      obs("stable", 1, { "quality.success_rate": { count: 85, trials: 100 } }),
      obs("candidate", 0, { "quality.success_rate": { count: 9, trials: 10 } }),
    ]));
    expect(baseline.metrics).toEqual({ "quality.success_rate": { count: 175, trials: 200 } });
    expect(candidate.metrics).toEqual({ "quality.success_rate": { count: 9, trials: 10 } });
    expect(baseline.notes).toEqual({});
  });

  it("plain numbers keep today's rule: the newest value of the side", () => {
    const { candidate } = poolSides(newestFirst([obs("candidate", 0, { "latency.p95_ms": 1200 }), obs("candidate", 1, { "latency.p95_ms": 900 })]));
    expect(candidate.metrics).toEqual({ "latency.p95_ms": 900 });
  });

  it("point and sample forms mixed for one metric: the sample form wins and the plain values are ignored, with a note", () => {
    const { candidate } = poolSides(newestFirst([
      obs("candidate", 0, { "quality.success_rate": 0.5 }),
      obs("candidate", 1, { "quality.success_rate": { count: 95, trials: 100 } }),
      obs("candidate", 2, { "quality.success_rate": 0.2 }),
      obs("candidate", 3, { "quality.adoption_rate": 0.4 }),
    ]));
    expect(candidate.metrics).toEqual({ "quality.success_rate": { count: 95, trials: 100 }, "quality.adoption_rate": 0.4 });
    expect(candidate.notes).toEqual({ "quality.success_rate": "2 plain values ignored: the sample form wins once present" });
  });

  it("...and the gate's summary carries that note", () => {
    const { baseline, candidate } = poolSides(newestFirst([
      obs("stable", 0, { "quality.success_rate": { count: 900, trials: 1000 } }),
      obs("candidate", 0, { "quality.success_rate": 0.1 }),
      obs("candidate", 1, { "quality.success_rate": { count: 905, trials: 1000 } }),
    ]));
    const d = decide({ policy: DEFAULT_GATE_POLICY, baseline: baseline.metrics!, candidate: candidate.metrics!, notes: { baseline: baseline.notes, candidate: candidate.notes } });
    const reason = d.reasons.find((r) => r.metric === "quality.success_rate")!;
    expect(reason.method).toBe("sequential");
    expect(reason.candidate).toBe(0.905);
    expect(reason.summary).toMatch(/\(candidate: 1 plain value ignored: the sample form wins once present\)$/);
  });

  it("windows with different bucket bounds: pooled on the shared bounds, with a note", () => {
    const { candidate } = poolSides(newestFirst([
      obs("candidate", 0, { "latency.p95_ms": { buckets: [{ le: 100, count: 5 }, { le: 500, count: 9 }, { le: "+Inf", count: 10 }] } }),
      obs("candidate", 1, { "latency.p95_ms": { buckets: [{ le: 250, count: 5 }, { le: 500, count: 9 }, { le: "+Inf", count: 10 }] } }),
    ]));
    expect(candidate.metrics).toEqual({ "latency.p95_ms": { buckets: [{ le: 500, count: 18 }, { le: "+Inf", count: 20 }] } });
    expect(candidate.notes["latency.p95_ms"]).toBe("bucket bounds differ between windows: pooled on the 1 finite bound all windows share");
  });

  it("no finite bound shared → the p95 is unknowable and the gate says no_data", () => {
    const h = (le: number) => ({ buckets: [{ le, count: 9 }, { le: "+Inf", count: 10 }] });
    const { baseline, candidate } = poolSides(newestFirst([
      obs("stable", 0, { "latency.p95_ms": h(100) }),
      obs("candidate", 0, { "latency.p95_ms": h(100) }),
      obs("candidate", 1, { "latency.p95_ms": h(200) }),
    ]));
    const d = decide({ policy: DEFAULT_GATE_POLICY, baseline: baseline.metrics!, candidate: candidate.metrics! });
    expect(d.reasons[0]).toMatchObject({ metric: "latency.p95_ms", verdict: "no_data", method: "sequential" });
    expect(d.reasons[0]!.summary).toMatch(/candidate's histogram has no finite bucket bound/);
    expect(d.action).toBe("hold");
  });

  it("`since` (the step's start) limits the samples, not the plain numbers nor the risk counts", () => {
    const list = newestFirst([
      obs("candidate", 0, { "quality.success_rate": { count: 10, trials: 100 }, "latency.p95_ms": 700, "risk.pii_leaks": 1 }, { requests: 100 }),
      obs("candidate", 5, { "quality.success_rate": { count: 90, trials: 100 }, "risk.pii_leaks": 0 }, { requests: 300 }),
    ]);
    const { candidate } = poolSides(list, { since: new Date(Date.UTC(2026, 0, 1, 3)) });
    expect(candidate.metrics).toEqual({ "quality.success_rate": { count: 90, trials: 100 }, "latency.p95_ms": 700, "risk.pii_leaks": 1 });
    expect(candidate.requests).toBe(300);
    const later = poolSides(list, { since: new Date(Date.UTC(2026, 0, 1, 9)) }).candidate;
    expect(later.metrics).toEqual({ "quality.success_rate": { count: 0, trials: 0 }, "latency.p95_ms": 700, "risk.pii_leaks": 1 });
    expect(later.notes).toEqual({ "quality.success_rate": "no sample windows in this step yet" });
    expect(later.requests).toBeUndefined();
  });

  it("sums risk counts and segments over the whole rollout", () => {
    const { candidate, baseline } = poolSides(newestFirst([
      obs("candidate", 0, { "risk.pii_leaks": 2 }, { segments: { attack: 3 } }),
      obs("candidate", 1, { "risk.pii_leaks": 0 }, { segments: { attack: 4, long_context: 1 } }),
      obs("stable", 1, { "risk.pii_leaks": 0 }, { segments: { attack: 100 } }),
    ]));
    expect(candidate.metrics).toEqual({ "risk.pii_leaks": 2 });
    expect(candidate.segments).toEqual({ attack: 7, long_context: 1 });
    expect(baseline.segments).toEqual({ attack: 100 });
  });

  it("treats a stored segment name as data, even __proto__", () => {
    const segments = JSON.parse('{"__proto__": 5, "attack": 1}') as Record<string, number>;
    const { candidate } = poolSides([obs("candidate", 0, {}, { segments }), obs("candidate", 1, {}, { segments })]);
    expect(Object.getOwnPropertyDescriptor(candidate.segments, "__proto__")?.value).toBe(10);
    expect(candidate.segments.attack).toBe(2);
    expect(({} as Record<string, unknown>).attack).toBeUndefined();
  });

  it("ignores stored values of the wrong shape or name", () => {
    const { candidate } = poolSides([obs("candidate", 0, { "quality.success_rate": { mean: 1, stddev: 0, count: 1 }, "quality.vibes": 3, "latency.p95_ms": "x" })]);
    expect(candidate.metrics).toEqual({});
  });

  it("a side without observations has undefined metrics", () => {
    expect(poolSides([obs("candidate", 0, { "latency.p95_ms": 1 })]).baseline).toMatchObject({ metrics: undefined, observations: [] });
  });
});
