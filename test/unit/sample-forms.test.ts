import { describe, expect, it } from "vitest";
import { z } from "zod";
import { UnprocessableError } from "../../src/core/errors.js";
import { observationSamplesBody, requestsSchema, segmentsSchema } from "../../src/rollouts/analysis/sample-schemas.js";
import { histogramQuantile, pointOf, type Bucket } from "../../src/rollouts/analysis/samples.js";
import { observedMetricsSchema, parseMetrics, parseObservedMetrics } from "../../src/rollouts/metrics.js";

function errors(input: unknown): { path: string; message: string }[] {
  try {
    parseObservedMetrics(input);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableError);
    expect((error as UnprocessableError).status).toBe(422);
    return (error as UnprocessableError).errors ?? [];
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}
const paths = (input: unknown) => errors(input).map((e) => e.path).sort();

const HIST = {
  buckets: [
    { le: 100, count: 31 },
    { le: 250, count: 900 },
    { le: 1000, count: 1900 },
    { le: "+Inf", count: 2000 },
  ],
};
const withBuckets = (buckets: unknown) => ({ "latency.p95_ms": { buckets } });

describe("parseObservedMetrics — accepted forms", () => {
  it("keeps the plain numbers exactly as parseMetrics does", () => {
    const plain = { quality: { success_rate: 0.97 }, "latency.p95_ms": 820, risk: { pii_leaks: 2 } };
    expect(parseObservedMetrics(plain)).toEqual(parseMetrics(plain));
  });

  it("accepts every sample form, flat or nested, beside plain numbers", () => {
    const parsed = parseObservedMetrics({
      quality: { success_rate: { count: 1812, trials: 2000 }, adoption_rate: 0.4 },
      "latency.p95_ms": HIST,
      latency: { timeout_rate: { count: 0, trials: 2000 } },
      "cost.tokens_per_request": { mean: 640, stddev: 120, count: 2000 },
      "risk.injection_success": 0,
    });
    expect(parsed).toEqual({
      "quality.success_rate": { count: 1812, trials: 2000 },
      "quality.adoption_rate": 0.4,
      "latency.p95_ms": HIST,
      "latency.timeout_rate": { count: 0, trials: 2000 },
      "cost.tokens_per_request": { mean: 640, stddev: 120, count: 2000 },
      "risk.injection_success": 0,
    });
  });

  it("accepts the edges: k = n, k = 0 of 0, one value, stddev 0, a histogram of +Inf alone", () => {
    expect(parseObservedMetrics({ "quality.success_rate": { count: 5, trials: 5 } })).toBeDefined();
    expect(parseObservedMetrics({ "quality.success_rate": { count: 0, trials: 0 } })).toBeDefined();
    expect(parseObservedMetrics({ "cost.tokens_per_request": { mean: 10, stddev: 0, count: 1 } })).toBeDefined();
    expect(parseObservedMetrics(withBuckets([{ le: "+Inf", count: 7 }]))).toBeDefined();
    expect(parseObservedMetrics(withBuckets([{ le: 0, count: 0 }, { le: 5, count: 0 }, { le: "+Inf", count: 0 }]))).toBeDefined();
  });

  it("leaves the point-only schema as it was: a sample there is a 422", () => {
    expect(() => parseMetrics({ "quality.success_rate": { count: 1, trials: 2 } })).toThrow(UnprocessableError);
  });
});

describe("parseObservedMetrics — every malformed sample is a 422 naming the field", () => {
  it.each([
    ["k > n", { "quality.success_rate": { count: 3, trials: 2 } }, ["quality.success_rate.count"]],
    ["negative count", { "quality.adoption_rate": { count: -1, trials: 2 } }, ["quality.adoption_rate.count"]],
    ["fractional count", { "latency.timeout_rate": { count: 1.5, trials: 2 } }, ["latency.timeout_rate.count"]],
    ["string trials", { "quality.success_rate": { count: 1, trials: "2" } }, ["quality.success_rate.trials"]],
    ["negative trials", { "quality.success_rate": { count: 0, trials: -2 } }, ["quality.success_rate.trials"]],
    ["missing trials", { "quality.success_rate": { count: 1 } }, ["quality.success_rate.trials"]],
    ["unknown field", { "quality.success_rate": { count: 1, trials: 2, rate: 0.5 } }, ["quality.success_rate.rate"]],
    ["nested form, k > n", { quality: { success_rate: { count: 9, trials: 2 } } }, ["quality.success_rate.count"]],
    ["falling cumulative counts", withBuckets([{ le: 100, count: 50 }, { le: 200, count: 40 }, { le: "+Inf", count: 60 }]), ["latency.p95_ms.buckets.1.count"]],
    ["no +Inf", withBuckets([{ le: 100, count: 5 }, { le: 200, count: 6 }]), ["latency.p95_ms.buckets.1.le"]],
    ["+Inf not last", withBuckets([{ le: "+Inf", count: 5 }, { le: 200, count: 6 }, { le: "+Inf", count: 6 }]), ["latency.p95_ms.buckets.0.le"]],
    ["bounds not rising", withBuckets([{ le: 200, count: 5 }, { le: 200, count: 6 }, { le: "+Inf", count: 6 }]), ["latency.p95_ms.buckets.1.le"]],
    ["bounds falling", withBuckets([{ le: 200, count: 5 }, { le: 100, count: 6 }, { le: "+Inf", count: 6 }]), ["latency.p95_ms.buckets.1.le"]],
    ["negative bound", withBuckets([{ le: -5, count: 0 }, { le: "+Inf", count: 6 }]), ["latency.p95_ms.buckets.0.le"]],
    ["string bound", withBuckets([{ le: "100", count: 0 }, { le: "+Inf", count: 6 }]), ["latency.p95_ms.buckets.0.le"]],
    ["fractional bucket count", withBuckets([{ le: 100, count: 0.5 }, { le: "+Inf", count: 6 }]), ["latency.p95_ms.buckets.0.count"]],
    ["no buckets", withBuckets([]), ["latency.p95_ms.buckets"]],
    ["buckets not an array", withBuckets({ le: "+Inf", count: 1 }), ["latency.p95_ms.buckets"]],
    ["unknown bucket field", withBuckets([{ le: "+Inf", count: 1, sum: 9 }]), ["latency.p95_ms.buckets.0.sum"]],
    ["negative stddev", { "cost.tokens_per_request": { mean: 640, stddev: -1, count: 20 } }, ["cost.tokens_per_request.stddev"]],
    ["count 0", { "cost.tokens_per_request": { mean: 640, stddev: 1, count: 0 } }, ["cost.tokens_per_request.count"]],
    ["fractional count of values", { "cost.tokens_per_request": { mean: 640, stddev: 1, count: 2.5 } }, ["cost.tokens_per_request.count"]],
    ["negative mean", { "cost.tokens_per_request": { mean: -1, stddev: 1, count: 2 } }, ["cost.tokens_per_request.mean"]],
    ["missing stddev", { "cost.tokens_per_request": { mean: 1, count: 2 } }, ["cost.tokens_per_request.stddev"]],
    ["a sample for a risk count", { "risk.pii_leaks": { count: 1, trials: 2 } }, ["risk.pii_leaks"]],
    ["an array", { "quality.success_rate": [1, 2] }, ["quality.success_rate"]],
    ["a string", { "latency.p95_ms": "900" }, ["latency.p95_ms"]],
  ] as const)("%s", (_name, input, expected) => {
    expect(paths(input)).toEqual([...expected].sort());
  });

  it("says what is wrong", () => {
    expect(errors({ "quality.success_rate": { count: 3, trials: 2 } })[0]!.message).toBe("must not exceed trials (2)");
    expect(errors(withBuckets([{ le: 100, count: 50 }, { le: 200, count: 40 }, { le: "+Inf", count: 60 }]))[0]!.message).toMatch(/must not fall: 40 follows 50/);
    expect(errors(withBuckets([{ le: 100, count: 5 }]))[0]!.message).toMatch(/last bound must be "\+Inf"/);
    expect(errors({ "latency.p95_ms": "900" })[0]!.message).toMatch(/a number ≥ 0 or \{"buckets"/);
  });

  it("reports every problem at once, across metrics and inside one sample", () => {
    expect(
      paths({
        "quality.success_rate": { count: 3, trials: 2 },
        "latency.p95_ms": { buckets: [{ le: 100, count: 50 }, { le: 50, count: 40 }, { le: "+Inf", count: 60 }] },
        "cost.tokens_per_request": { mean: 1, stddev: -1, count: 0 },
      }),
    ).toEqual([
      "cost.tokens_per_request.count",
      "cost.tokens_per_request.stddev",
      "latency.p95_ms.buckets.1.count",
      "latency.p95_ms.buckets.1.le",
      "quality.success_rate.count",
    ]);
  });

  it("renders as metrics.<metric>.<field> inside a body schema", () => {
    const body = z.strictObject({ version_set: z.string(), metrics: observedMetricsSchema, ...observationSamplesBody });
    const result = body.safeParse({
      version_set: "vs",
      metrics: { quality: { success_rate: { count: 3, trials: 2 } } },
      requests: -1,
      segments: { Attack: 1, long_context: 1.5 },
    });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join(".")).sort()).toEqual([
      "metrics.quality.success_rate.count",
      "requests",
      "segments.Attack",
      "segments.long_context",
    ]);
    const ok = body.parse({ version_set: "vs", metrics: { "latency.p95_ms": HIST }, requests: 2000, segments: { attack: 3 } });
    expect(ok).toEqual({ version_set: "vs", metrics: { "latency.p95_ms": HIST }, requests: 2000, segments: { attack: 3 } });
  });
});

describe("requests and segments", () => {
  it("requests: a whole number ≥ 0", () => {
    expect(requestsSchema.parse(0)).toBe(0);
    for (const bad of [-1, 1.5, "10", null, Number.NaN, 2 ** 60]) expect(requestsSchema.safeParse(bad).success).toBe(false);
  });

  it("segments: names as other names, whole counts, at most 100", () => {
    expect(segmentsSchema.parse({ attack: 0, "long_context.v2": 12 })).toEqual({ attack: 0, "long_context.v2": 12 });
    const issues = (v: unknown) => segmentsSchema.safeParse(v).error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(issues({ "Bad Name": 1 })).toEqual(["Bad Name"]);
    expect(issues({ attack: -1 })).toEqual(["attack"]);
    expect(issues({ attack: "3" })).toEqual(["attack"]);
    expect(issues([1])).toEqual([""]);
    expect(issues("attack")).toEqual([""]);
    expect(issues(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`s${i}`, 1])))).toEqual([""]);
  });
});

describe("histogramQuantile and pointOf", () => {
  const b: Bucket[] = [
    { le: 100, count: 10 },
    { le: 200, count: 60 },
    { le: 400, count: 90 },
    { le: "+Inf", count: 100 },
  ];
  it("interpolates within the bucket holding the rank, from 0 in the first (Prometheus' rule)", () => {
    expect(histogramQuantile(b, 0.05)).toBeCloseTo(50, 10);
    expect(histogramQuantile(b, 0.1)).toBeCloseTo(100, 10);
    expect(histogramQuantile(b, 0.35)).toBeCloseTo(150, 10);
    expect(histogramQuantile(b, 0.75)).toBeCloseTo(300, 10);
    expect(histogramQuantile(b, 0.9)).toBeCloseTo(400, 10);
  });
  it("is +∞ in the +Inf bucket, NaN when empty; pointOf answers the highest finite bound there", () => {
    expect(histogramQuantile(b, 0.95)).toBe(Number.POSITIVE_INFINITY);
    expect(histogramQuantile([{ le: 1, count: 0 }, { le: "+Inf", count: 0 }], 0.5)).toBeNaN();
    expect(pointOf({ buckets: b })).toBe(400);
    expect(pointOf({ count: 9, trials: 10 })).toBe(0.9);
    expect(pointOf({ count: 0, trials: 0 })).toBeUndefined();
    expect(pointOf({ mean: 5, stddev: 1, count: 3 })).toBe(5);
  });
  it("skips empty buckets: the rank lands in the next bucket that holds requests", () => {
    expect(histogramQuantile([{ le: 100, count: 0 }, { le: 200, count: 0 }, { le: 300, count: 10 }, { le: "+Inf", count: 10 }], 0.5)).toBeCloseTo(250, 10);
  });
});
