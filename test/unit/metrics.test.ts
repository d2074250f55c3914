import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError, UnprocessableError } from "../../src/core/errors.js";
import { METRIC_NAMES, metricsSchema, parseMetrics } from "../../src/rollouts/metrics.js";

function rejection(input: unknown): UnprocessableError {
  try {
    parseMetrics(input);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableError);
    return error as UnprocessableError;
  }
  throw new Error(`parseMetrics accepted ${String(input)}`);
}

function errorPaths(input: unknown): string[] {
  const error = rejection(input);
  expect(error.status).toBe(422);
  expect(error.code).toBe("validation_failed");
  return (error.errors ?? []).map((e) => e.path);
}

const ALL = {
  "quality.success_rate": 0.97,
  "quality.adoption_rate": 0.4,
  "latency.p95_ms": 820,
  "latency.timeout_rate": 0.002,
  "cost.tokens_per_request": 1450.5,
  "risk.injection_success": 0,
  "risk.unauthorized_tool_calls": 0,
  "risk.pii_leaks": 2,
};

describe("parseMetrics — accepted forms", () => {
  it("accepts the flat form with every metric", () => {
    expect(parseMetrics(ALL)).toEqual(ALL);
  });

  it("accepts the nested form and normalises it to flat", () => {
    expect(
      parseMetrics({
        quality: { success_rate: 0.97, adoption_rate: 0.4 },
        latency: { p95_ms: 820, timeout_rate: 0.002 },
        cost: { tokens_per_request: 1450.5 },
        risk: { injection_success: 0, unauthorized_tool_calls: 0, pii_leaks: 2 },
      }),
    ).toEqual(ALL);
  });

  it("accepts a mix of flat and nested keys", () => {
    expect(parseMetrics({ "quality.success_rate": 0.9, latency: { p95_ms: 100 } })).toEqual({
      "quality.success_rate": 0.9,
      "latency.p95_ms": 100,
    });
  });

  it("accepts a single metric and the inclusive bounds", () => {
    expect(parseMetrics({ "latency.p95_ms": 0 })).toEqual({ "latency.p95_ms": 0 });
    expect(parseMetrics({ "quality.success_rate": 0, "quality.adoption_rate": 1 })).toEqual({
      "quality.success_rate": 0,
      "quality.adoption_rate": 1,
    });
    expect(parseMetrics({ "latency.timeout_rate": 1 })).toEqual({ "latency.timeout_rate": 1 });
  });

  it("returns keys in the canonical order", () => {
    const parsed = parseMetrics({ "risk.pii_leaks": 0, "quality.success_rate": 0.5, "latency.p95_ms": 3 });
    expect(Object.keys(parsed)).toEqual(["quality.success_rate", "latency.p95_ms", "risk.pii_leaks"]);
    expect(METRIC_NAMES).toHaveLength(8);
  });
});

describe("parseMetrics — rejections (422 naming the metric)", () => {
  it("rejects NaN given directly, in either form", () => {
    expect(errorPaths({ "quality.success_rate": Number.NaN })).toEqual(["quality.success_rate"]);
    expect(errorPaths({ latency: { p95_ms: Number.NaN } })).toEqual(["latency.p95_ms"]);
    expect(errorPaths({ "risk.pii_leaks": Number.NaN })).toEqual(["risk.pii_leaks"]);
  });

  it("rejects infinities", () => {
    expect(errorPaths({ "latency.p95_ms": Infinity })).toEqual(["latency.p95_ms"]);
    expect(errorPaths({ "cost.tokens_per_request": -Infinity })).toEqual(["cost.tokens_per_request"]);
  });

  it("rejects strings, including \"NaN\" and numeric strings, and null", () => {
    expect(errorPaths({ "quality.success_rate": "NaN" })).toEqual(["quality.success_rate"]);
    expect(errorPaths({ "latency.p95_ms": "820" })).toEqual(["latency.p95_ms"]);
    expect(errorPaths({ "latency.timeout_rate": null })).toEqual(["latency.timeout_rate"]);
    expect(errorPaths({ "risk.pii_leaks": true })).toEqual(["risk.pii_leaks"]);
  });

  it("rejects JSON text that tried to carry NaN once parsed (it can only arrive as a string)", () => {
    const body = JSON.parse('{"quality.success_rate": "NaN", "latency.p95_ms": 10}') as unknown;
    expect(errorPaths(body)).toEqual(["quality.success_rate"]);
  });

  it("rejects negatives", () => {
    expect(errorPaths({ "latency.p95_ms": -1 })).toEqual(["latency.p95_ms"]);
    expect(errorPaths({ "cost.tokens_per_request": -0.5 })).toEqual(["cost.tokens_per_request"]);
    expect(errorPaths({ "quality.adoption_rate": -0.01 })).toEqual(["quality.adoption_rate"]);
    expect(errorPaths({ "risk.injection_success": -1 })).toEqual(["risk.injection_success"]);
  });

  it("rejects rates above 1", () => {
    expect(errorPaths({ "quality.success_rate": 1.01 })).toEqual(["quality.success_rate"]);
    expect(errorPaths({ "quality.adoption_rate": 97 })).toEqual(["quality.adoption_rate"]);
    expect(errorPaths({ "latency.timeout_rate": 1.5 })).toEqual(["latency.timeout_rate"]);
  });

  it("rejects fractional risk counts", () => {
    expect(errorPaths({ "risk.unauthorized_tool_calls": 0.5 })).toEqual(["risk.unauthorized_tool_calls"]);
  });

  it("rejects unknown metric names, flat or nested, and names them", () => {
    expect(errorPaths({ "quality.sucess_rate": 0.9 })).toEqual(["quality.sucess_rate"]);
    expect(errorPaths({ quality: { success_rate: 0.9, nps: 40 } })).toEqual(["quality.nps"]);
    expect(errorPaths({ "latency.p50_ms": 10, "latency.p95_ms": 20 })).toEqual(["latency.p50_ms"]);
    expect(errorPaths({ quality: 0.9 })).toEqual(["quality"]);
    const error = rejection({ "foo.bar": 1 });
    expect(error.errors?.[0]?.message).toMatch(/unknown metric/);
  });

  it("rejects a metric given both flat and nested", () => {
    expect(errorPaths({ "quality.success_rate": 0.9, quality: { success_rate: 0.9 } })).toEqual([
      "quality.success_rate",
    ]);
  });

  it("reports every bad field at once", () => {
    expect(
      errorPaths({ "quality.success_rate": 2, "latency.p95_ms": -3, "risk.pii_leaks": 1.5, extra: 1 }).sort(),
    ).toEqual(["extra", "latency.p95_ms", "quality.success_rate", "risk.pii_leaks"]);
  });

  it("requires at least one metric", () => {
    expect(errorPaths({})).toEqual([""]);
    expect(errorPaths({ quality: {} })).toEqual([""]);
    expect(rejection({}).errors?.[0]?.message).toMatch(/at least one metric/);
  });

  it("rejects non-objects", () => {
    for (const input of [null, undefined, 0.9, "x", [0.9], [{ "quality.success_rate": 0.9 }]]) {
      expect(errorPaths(input)).toEqual([""]);
    }
  });

  it("throws an AppError that renders as 422", () => {
    const error = rejection({ "latency.p95_ms": -1 });
    expect(error).toBeInstanceOf(AppError);
    expect(error.errors).toEqual([{ path: "latency.p95_ms", message: expect.any(String) }]);
  });
});

describe("metricsSchema inside a body schema", () => {
  const body = z.object({ version_set: z.string(), metrics: metricsSchema });

  it("outputs the flat form", () => {
    const parsed = body.parse({ version_set: "vs1", metrics: { quality: { success_rate: 0.97 } } });
    expect(parsed.metrics).toEqual({ "quality.success_rate": 0.97 });
  });

  it("prefixes issue paths with the field name", () => {
    const result = body.safeParse({ version_set: "vs1", metrics: { "latency.p95_ms": -1, bogus: 1 } });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    expect(paths.sort()).toEqual(["metrics.bogus", "metrics.latency.p95_ms"]);
  });

  it("rejects empty metrics at the field itself", () => {
    const result = body.safeParse({ version_set: "vs1", metrics: {} });
    expect(result.error!.issues.map((i) => i.path)).toEqual([["metrics"]]);
  });
});
