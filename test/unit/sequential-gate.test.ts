import { describe, expect, it } from "vitest";
import { bandVerdict } from "../../src/rollouts/analysis/bands.js";
import { effectiveSize, radius } from "../../src/rollouts/analysis/confidence-sequence.js";
import type { HistogramSample, RateSample } from "../../src/rollouts/analysis/samples.js";
import { DEFAULT_GATE_POLICY, parseGatePolicy, type GatePolicy } from "../../src/rollouts/gate-policy.js";
import { decide, type Reason } from "../../src/rollouts/gates.js";
import type { MetricName } from "../../src/rollouts/metrics.js";
import type { MetricValue } from "../../src/rollouts/analysis/samples.js";

const policy = DEFAULT_GATE_POLICY;

function reason(metric: MetricName, b: MetricValue, c: MetricValue, p: GatePolicy = policy, planned?: number): Reason {
  const d = decide({ policy: p, baseline: { [metric]: b }, candidate: { [metric]: c }, ...(planned ? { planned } : {}) });
  const r = d.reasons.find((x) => x.metric === metric);
  if (!r) throw new Error(`no reason for ${metric}`);
  return r;
}
const rate = (p: number, n: number): RateSample => ({ count: Math.round(p * n), trials: n });

/** A histogram of a lognormal (median `median` ms, σ 0.5) on exponential bounds 50 × 1.25^i, exact expected counts. */
function lognormal(median: number, n: number): HistogramSample {
  const erf = (x: number) => {
    const t = 1 / (1 + 0.5 * Math.abs(x));
    const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? y : -y;
  };
  const cdf = (ms: number) => 0.5 * (1 + erf((Math.log(ms) - Math.log(median)) / (0.5 * Math.SQRT2)));
  const bounds = Array.from({ length: 20 }, (_, i) => 50 * 1.25 ** i);
  return { buckets: [...bounds.map((le) => ({ le, count: Math.round(n * cdf(le)) })), { le: "+Inf", count: n }] };
}

describe("band mapping onto an interval (harm scale: larger is worse; lines 0 / 0.03 / 0.05)", () => {
  const lines = { pass: 0, hold: 0.03, pause: 0.05 };
  it.each([
    [-0.01, 0.02, "pass"], // inside the hold line, may be no harm at all
    [0, 0.03, "pass"], // both ends on lines: inclusive
    [0.001, 0.029, "hold"], // wholly beyond pass, inside hold: a proven small harm
    [0.02, 0.04, "inconclusive"], // across the hold line
    [-0.01, 0.2, "inconclusive"],
    [0.031, 0.06, "pause"], // wholly beyond hold, across the roll-back line
    [0.051, 0.3, "rollback"], // wholly beyond the roll-back line
  ] as const)("[%d, %d] → %s", (lo, hi, verdict) => {
    expect(bandVerdict(lo, hi, lines)).toBe(verdict);
  });
});

describe("rates: candidate − baseline in points", () => {
  it("computes the interval from smoothed proportions at the effective size", () => {
    const b = { count: 16_272, trials: 18_000 };
    const c = { count: 1_812, trials: 2_000 };
    const r = reason("quality.success_rate", b, c);
    const sm = (s: RateSample) => {
      const p = (s.count + 1) / (s.trials + 2);
      return (p * (1 - p)) / s.trials;
    };
    const expected = radius(sm(b) + sm(c), effectiveSize(18_000, 2_000), { alpha: 0.05, planned: 500 });
    const diff = 1812 / 2000 - 16272 / 18000;
    expect(r.interval!.low).toBeCloseTo(diff - expected, 12);
    expect(r.interval!.high).toBeCloseTo(diff + expected, 12);
    expect(r).toMatchObject({ method: "sequential", confidence: 0.95, samples: { baseline: 18_000, candidate: 2_000 }, baseline: 0.904, candidate: 0.906, verdict: "pass", needed: null });
    expect(r.summary).toBe(
      "success rate: candidate 90.6 % vs baseline 90.4 % (n = 2 000 / 18 000), difference +0.2 pt, 95 % interval −2.0 … +2.4 pt, inside the hold line (−3 pt): pass",
    );
    expect(r.threshold).toBe("whole interval ≥ −0.03 (hold line)");
  });

  it.each([
    [0.9, 0.9, 40_000, "pass"],
    [0.9, 0.89, 200_000, "hold"], // a proven 1-point drop: inside the hold band
    [0.9, 0.86, 200_000, "pause"],
    [0.9, 0.8, 20_000, "rollback"],
    [0.9, 0.88, 2_000, "inconclusive"],
  ] as const)("baseline %d, candidate %d, %d trials per side → %s", (pb, pc, n, verdict) => {
    expect(reason("quality.success_rate", rate(pb, n), rate(pc, n)).verdict).toBe(verdict);
  });

  it("0 or n events still give a finite interval", () => {
    for (const [b, c] of [[rate(0, 50), rate(0, 50)], [rate(1, 50), rate(1, 50)], [rate(0, 3), rate(1, 3)]] as const) {
      const r = reason("quality.adoption_rate", b, c);
      expect(Number.isFinite(r.interval!.low!) && Number.isFinite(r.interval!.high!)).toBe(true);
      expect(r.interval!.high! - r.interval!.low!).toBeGreaterThan(0);
    }
  });

  it("inconclusive says roughly how many more trials per side would settle it — and that many do", () => {
    const b = rate(0.9, 2000);
    const c = rate(0.88, 2000);
    const r = reason("quality.success_rate", b, c);
    expect(r.verdict).toBe("inconclusive");
    expect(r.needed!.baseline).toBe(r.needed!.candidate);
    expect(r.summary).toMatch(/straddles the hold line \(−3 pt\): inconclusive; about [\d ]+ more candidate and [\d ]+ more baseline trials would settle it$/);
    const grown = 2000 + r.needed!.candidate;
    expect(reason("quality.success_rate", rate(0.9, grown), rate(0.88, grown)).verdict).not.toBe("inconclusive");
    const short = 2000 + Math.floor(r.needed!.candidate * 0.8);
    expect(reason("quality.success_rate", rate(0.9, short), rate(0.88, short)).verdict).toBe("inconclusive");
  });

  it("a higher confidence gives a wider interval", () => {
    const p99 = parseGatePolicy({ confidence: 0.99 });
    const w = (p: GatePolicy) => {
      const r = reason("quality.success_rate", rate(0.9, 5000), rate(0.9, 5000), p);
      return r.interval!.high! - r.interval!.low!;
    };
    expect(w(p99)).toBeGreaterThan(w(policy));
    expect(reason("quality.success_rate", rate(0.9, 5000), rate(0.9, 5000), p99).summary).toMatch(/99 % interval/);
  });

  it("uses the policy's own drops", () => {
    const p = parseGatePolicy({ quality: { pass_drop: 0.01, hold_drop: 0.02, pause_drop: 0.1 } });
    expect(reason("quality.success_rate", rate(0.9, 200_000), rate(0.895, 200_000), p).verdict).toBe("pass");
    expect(reason("quality.success_rate", rate(0.9, 200_000), rate(0.885, 200_000), p).verdict).toBe("hold");
    expect(reason("quality.success_rate", rate(0.9, 200_000), rate(0.85, 200_000), p).verdict).toBe("pause");
  });
});

describe("latency.timeout_rate: D = c − 2·b", () => {
  it("rolls back when the whole interval is ≥ 0", () => {
    const r = reason("latency.timeout_rate", rate(0.01, 50_000), rate(0.03, 50_000));
    expect(r.verdict).toBe("rollback");
    expect(r.interval!.low).toBeGreaterThan(0);
    expect(r.summary).toMatch(/wholly ≥ 0: the candidate times out at least 2 × as often as the baseline: rollback$/);
  });

  it("passes when the whole interval is < 0, and when it straddles 0 (this line rolls back on evidence only)", () => {
    const under = reason("latency.timeout_rate", rate(0.02, 50_000), rate(0.02, 50_000));
    expect(under).toMatchObject({ verdict: "pass" });
    expect(under.interval!.high).toBeLessThan(0);
    const across = reason("latency.timeout_rate", rate(0.002, 2000), rate(0.004, 2000));
    expect(across.verdict).toBe("pass");
    expect(across.interval!.low! < 0 && across.interval!.high! > 0).toBe(true);
    expect(across.summary).toMatch(/not shown to reach 2 × the baseline/);
  });

  it("no timeouts on either side pass (the point rule's `c > 0` case)", () => {
    expect(reason("latency.timeout_rate", { count: 0, trials: 5000 }, { count: 0, trials: 500 }).verdict).toBe("pass");
  });
});

describe("cost.tokens_per_request: ratio of means by the delta method", () => {
  it("builds exp(ln(mc/mb) ± radius) with v = sc²/(nc mc²) + sb²/(nb mb²)", () => {
    const b = { mean: 600, stddev: 150, count: 18_000 };
    const c = { mean: 640, stddev: 160, count: 2_000 };
    const r = reason("cost.tokens_per_request", b, c);
    const v = 160 ** 2 / (2000 * 640 ** 2) + 150 ** 2 / (18_000 * 600 ** 2);
    const rad = radius(v, effectiveSize(18_000, 2_000), { alpha: 0.05, planned: 500 });
    expect(r.interval!.low).toBeCloseTo((640 / 600) * Math.exp(-rad), 12);
    expect(r.interval!.high).toBeCloseTo((640 / 600) * Math.exp(rad), 12);
    expect(r).toMatchObject({ verdict: "pass", baseline: 600, candidate: 640, samples: { baseline: 18_000, candidate: 2_000 } });
  });

  it.each([
    [1.0, "pass"],
    [1.12, "hold"],
    [1.2, "pause"],
    [1.6, "rollback"],
  ] as const)("× %d with 20 000 values per side → %s", (factor, verdict) => {
    expect(reason("cost.tokens_per_request", { mean: 600, stddev: 150, count: 20_000 }, { mean: 600 * factor, stddev: 150 * factor, count: 20_000 }).verdict).toBe(verdict);
  });

  it("a mean of 0 has no ratio interval: compared as points", () => {
    const r = reason("cost.tokens_per_request", { mean: 0, stddev: 0, count: 10 }, { mean: 5, stddev: 1, count: 10 });
    expect(r).toMatchObject({ method: "point", verdict: "rollback" });
    expect(r.summary).toMatch(/a mean of 0 has no ratio interval/);
  });
});

describe("latency.p95_ms: ratio of quantiles from cumulative histograms", () => {
  it("identical distributions pass with enough requests, the interval around 1", () => {
    const r = reason("latency.p95_ms", lognormal(400, 200_000), lognormal(400, 200_000));
    expect(r.verdict).toBe("pass");
    expect(r.interval!.low!).toBeLessThan(1);
    expect(r.interval!.high!).toBeGreaterThan(1);
    expect(r.baseline).toBeCloseTo(r.candidate!, 9);
    expect(r.samples).toEqual({ baseline: 200_000, candidate: 200_000 });
  });

  it("× 1.6 rolls back; × 1.3 pauses or rolls back; few requests are inconclusive", () => {
    expect(reason("latency.p95_ms", lognormal(400, 20_000), lognormal(640, 20_000)).verdict).toBe("rollback");
    expect(["pause", "rollback"]).toContain(reason("latency.p95_ms", lognormal(400, 40_000), lognormal(520, 40_000)).verdict);
    const few = reason("latency.p95_ms", lognormal(400, 300), lognormal(400, 300));
    expect(few.verdict).toBe("inconclusive");
    expect(few.needed).not.toBeNull();
  });

  it("a p95 that may lie in the +Inf bucket leaves the high end unbounded (null) and never passes", () => {
    const b = { buckets: [{ le: 500, count: 900 }, { le: 1000, count: 990 }, { le: "+Inf" as const, count: 1000 }] };
    const c = { buckets: [{ le: 500, count: 900 }, { le: 1000, count: 945 }, { le: "+Inf" as const, count: 1000 }] };
    const r = reason("latency.p95_ms", b, c);
    expect(r.interval!.high).toBeNull();
    expect(r.verdict).not.toBe("pass");
    expect(r.summary).toMatch(/the candidate's p95 may lie in the "\+Inf" bucket: add bounds above 1 000 ms/);
  });

  it("no requests, or no finite bound → no_data", () => {
    expect(reason("latency.p95_ms", { buckets: [{ le: "+Inf", count: 0 }] }, lognormal(400, 100)).verdict).toBe("no_data");
    expect(reason("latency.p95_ms", { buckets: [{ le: "+Inf", count: 10 }] }, lognormal(400, 100)).verdict).toBe("no_data");
  });
});

describe("decide with samples", () => {
  it("inconclusive counts as hold", () => {
    const d = decide({ policy, baseline: { "quality.success_rate": rate(0.9, 2000) }, candidate: { "quality.success_rate": rate(0.88, 2000) } });
    expect(d).toMatchObject({ signal: "yellow", action: "hold" });
  });

  it("a sample on one side and a plain number on the other are compared as points", () => {
    const r = reason("quality.success_rate", rate(0.9, 1000), 0.95);
    expect(r).toMatchObject({ method: "point", baseline: 0.9, candidate: 0.95, verdict: "pass", interval: null, samples: null });
    expect(r.summary).toMatch(/the candidate reports plain numbers only: compared as points/);
  });

  it("zero trials on a side → no_data", () => {
    expect(reason("quality.success_rate", { count: 0, trials: 0 }, rate(0.9, 100)).verdict).toBe("no_data");
  });

  it("keeps risk as point counts next to sequential metrics, and the worst verdict decides", () => {
    const d = decide({
      policy,
      baseline: { "quality.success_rate": rate(0.9, 40_000), "risk.pii_leaks": 0 },
      candidate: { "quality.success_rate": rate(0.9, 40_000), "risk.pii_leaks": 1 },
    });
    expect(d.action).toBe("stop");
    expect(d.reasons.map((r) => [r.metric, r.method, r.verdict])).toEqual([
      ["quality.success_rate", "sequential", "pass"],
      ["risk.pii_leaks", "point", "stop"],
    ]);
  });

  it("tunes the interval to `planned` (the step's min_samples): smallest there", () => {
    const width = (planned: number) => {
      const r = reason("quality.success_rate", rate(0.9, 2000), rate(0.9, 2000), policy, planned);
      return r.interval!.high! - r.interval!.low!;
    };
    expect(width(1000)).toBeLessThan(width(100));
    expect(width(1000)).toBeLessThan(width(100_000));
  });
});
