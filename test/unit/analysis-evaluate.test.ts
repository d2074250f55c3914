import { describe, expect, it } from "vitest";
import { parseAnalysisConfig, type AnalysisConfig } from "../../src/analysis/config.js";
import { AnalysisError } from "../../src/analysis/errors.js";
import { evaluateAnalysis, type Evaluation } from "../../src/analysis/evaluate.js";
import type { InstantQuery, PrometheusClient, QueryResult } from "../../src/analysis/prometheus-client.js";
import type { ResultData } from "../../src/analysis/prometheus-response.js";
import { DEFAULT_GATE_POLICY } from "../../src/rollouts/gate-policy.js";
import { decide } from "../../src/rollouts/gates.js";

const STABLE = "vs_stable01";
const CANDIDATE = "vs_cand02";
const END = new Date("2026-12-06T10:01:00.000Z");

/** What the fake Prometheus knows per set: a figure per default-query ingredient. */
interface Figures {
  requests: number;
  success: number;
  timeout: number;
  tokens: number;
  squares: number;
  buckets: [string, number][];
  risk: Record<string, number>;
  segments?: Record<string, number>;
}

const healthy = (scale = 1): Figures => ({
  requests: 2000.4 * scale,
  success: 1800.2 * scale,
  timeout: 4 * scale,
  tokens: 2000.4 * scale * 600,
  squares: 2000.4 * scale * (600 * 600 + 120 * 120),
  buckets: [["250", 600 * scale], ["500", 1500 * scale], ["1000", 1950 * scale], ["+Inf", 2000.4 * scale]],
  risk: { injection: 0, unauthorized_tool_call: 0, pii_leak: 0 },
});

const vector = (...values: [Record<string, string>, number][]): ResultData => ({ resultType: "vector", result: values.map(([metric, v]) => ({ metric, value: [END.getTime() / 1000, String(v)] as [number, string] })) });

/**
 * Answers the default queries from `figures` by recognising their pieces; `override` sees each
 * query first and may answer (or throw) instead.
 */
function fakeClient(figures: Record<string, Figures>, override?: (q: InstantQuery) => QueryResult | undefined) {
  const calls: InstantQuery[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client: PrometheusClient = {
    async query(q) {
      calls.push(q);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      const own = override?.(q);
      if (own) return own;
      const set = /version_set="([^"]+)"/.exec(q.query)?.[1] ?? "";
      const f = figures[set];
      if (!f) return { data: vector(), warnings: [] };
      const one = (v: number): QueryResult => ({ data: vector([{}, v]), warnings: [] });
      const text = q.query;
      if (text.includes("llm_request_duration_ms_bucket")) return { data: vector(...f.buckets.map(([le, c]) => [{ le }, c] as [Record<string, string>, number])), warnings: [] };
      if (text.startsWith("sqrt(")) return one(Math.sqrt(f.squares / f.requests - (f.tokens / f.requests) ** 2));
      if (text.includes("llm_tokens_total")) return one(f.tokens / f.requests);
      const kind = /kind="([^"]+)"/.exec(text)?.[1];
      if (kind) return one(f.risk[kind] ?? 0);
      const segment = /segment="([^"]+)"/.exec(text)?.[1];
      if (segment) return one(f.segments?.[segment] ?? 0);
      if (text.includes('outcome="success"')) return one(f.success);
      if (text.includes('outcome="timeout"')) return one(f.timeout);
      if (text.includes("llm_requests_total")) return one(f.requests);
      throw new Error(`the fake does not know ${text}`);
    },
  };
  return { client, calls, maxInFlight: () => maxInFlight };
}

const CONFIG: AnalysisConfig = parseAnalysisConfig({ provider: { type: "prometheus", url: "http://prom:9090" }, interval_seconds: 60 });
const run = (client: PrometheusClient, config: AnalysisConfig = CONFIG, extra: object = {}): Promise<Evaluation> =>
  evaluateAnalysis({ config, project: "support-bot", environment: "production", sides: { stable: STABLE, candidate: CANDIDATE }, windowEnd: END, client, ...extra });

describe("evaluateAnalysis — the default queries", () => {
  it("gives one observation per side in the observation route's shape, with the sample forms", async () => {
    const { client, calls } = fakeClient({ [STABLE]: healthy(), [CANDIDATE]: healthy(0.1) });
    const result = await run(client);
    expect(result.status).toBe("ok");
    expect(result.errors).toEqual([]);
    expect(result.window).toEqual({ start: "2026-12-06T10:00:00.000Z", end: "2026-12-06T10:01:00.000Z" });
    const stable = result.observations.stable!;
    expect(stable).toMatchObject({ version_set: STABLE, window_start: "2026-12-06T10:00:00.000Z", window_end: "2026-12-06T10:01:00.000Z", source: "prometheus", requests: 2000 });
    expect(stable.metrics).toEqual({
      "quality.success_rate": { count: 1800, trials: 2000 },
      "latency.p95_ms": { buckets: [{ le: 250, count: 600 }, { le: 500, count: 1500 }, { le: 1000, count: 1950 }, { le: "+Inf", count: 2000 }] },
      "latency.timeout_rate": { count: 4, trials: 2000 },
      "cost.tokens_per_request": { mean: expect.closeTo(600, 6), stddev: expect.closeTo(120, 6), count: 2000 },
      "risk.injection_success": 0,
      "risk.unauthorized_tool_calls": 0,
      "risk.pii_leaks": 0,
    });
    expect(result.observations.candidate!.metrics["quality.success_rate"]).toEqual({ count: 180, trials: 200 });
    // The record keeps the PromQL sent, with the side's version set filled in.
    expect(stable.queries.requests).toBe(`sum(increase(llm_requests_total{version_set="${STABLE}"}[1m]))`);
    expect(stable.queries["quality.success_rate"]).toEqual({
      count: `sum(increase(llm_requests_total{outcome="success",version_set="${STABLE}"}[1m]))`,
      trials: `sum(increase(llm_requests_total{version_set="${STABLE}"}[1m]))`,
    });
    expect(result.observations.candidate!.queries.requests).toContain(CANDIDATE);
    // Every query is evaluated at the window's end: 2 sides × (2 + 1 + 2 + 3 + 3 + 1) queries.
    expect(calls).toHaveLength(24);
    expect(new Set(calls.map((c) => c.time.getTime()))).toEqual(new Set([END.getTime()]));
  });

  it("what it produces is judged by decide(): a healthy candidate advances, a worse one rolls back", async () => {
    const good = await run(fakeClient({ [STABLE]: healthy(10), [CANDIDATE]: healthy(10) }).client);
    const decision = decide({ policy: DEFAULT_GATE_POLICY, baseline: good.observations.stable!.metrics, candidate: good.observations.candidate!.metrics });
    expect(decision.reasons.filter((r) => r.metric !== "latency.timeout_rate").every((r) => r.method === "sequential" || r.metric.startsWith("risk."))).toBe(true);
    expect(decision.action).toBe("advance");

    const worse = { ...healthy(10), success: 2000.4 * 10 * 0.8 };
    const bad = await run(fakeClient({ [STABLE]: healthy(10), [CANDIDATE]: worse }).client);
    const verdict = decide({ policy: DEFAULT_GATE_POLICY, baseline: bad.observations.stable!.metrics, candidate: bad.observations.candidate!.metrics });
    expect(verdict.action).toBe("rollback");
    expect(verdict.reasons.find((r) => r.metric === "quality.success_rate")).toMatchObject({ verdict: "rollback", method: "sequential" });
  });

  it("fills {{project}} and {{environment}}, and escapes a hostile version set", async () => {
    const config = parseAnalysisConfig({
      provider: { type: "prometheus", url: "http://prom:9090" },
      interval_seconds: 300,
      queries: { "risk.pii_leaks": 'sum(increase(x{version_set="{{version_set}}", env="{{environment}}", project="{{project}}"}[{{window}}]))' },
    });
    const { client, calls } = fakeClient({}, () => ({ data: vector([{}, 0]), warnings: [] }));
    const hostile = 'vs"} or vector(1) or x{a="\\';
    await evaluateAnalysis({ config, project: "support-bot", environment: "prod", sides: { stable: STABLE, candidate: hostile }, windowEnd: END, client });
    expect(calls.map((c) => c.query)).toEqual([
      `sum(increase(x{version_set="${STABLE}", env="prod", project="support-bot"}[5m]))`,
      'sum(increase(x{version_set="vs\\"} or vector(1) or x{a=\\"\\\\", env="prod", project="support-bot"}[5m]))',
    ]);
  });

  it("carries segment counts and plain-number (point) queries", async () => {
    const config = parseAnalysisConfig({
      provider: { type: "prometheus", url: "http://prom:9090" },
      queries: {
        "quality.success_rate": 'sum(increase(llm_requests_total{outcome="success",version_set="{{version_set}}"}[{{window}}])) / sum(increase(llm_requests_total{version_set="{{version_set}}"}[{{window}}]))',
        "segments.attack": 'sum(increase(llm_segment_requests_total{segment="attack",version_set="{{version_set}}"}[{{window}}]))',
      },
    });
    const { client } = fakeClient({}, (q) => ({ data: vector([{}, q.query.includes("segment=") ? 12.4 : 0.912]), warnings: ["some shards were unreachable"] }));
    const result = await run(client, config);
    expect(result.observations.candidate).toMatchObject({ metrics: { "quality.success_rate": 0.912 }, segments: { attack: 12 } });
    expect(result.observations.candidate).not.toHaveProperty("requests");
    expect(result.warnings).toContain("candidate segments.attack: some shards were unreachable");
  });
});

describe("evaluateAnalysis — failures are recorded, never verdicts", () => {
  it("a failed metric is left out on both sides (windows stay paired); risk is kept for the candidate", async () => {
    const { client } = fakeClient({ [STABLE]: healthy(), [CANDIDATE]: { ...healthy(), risk: { injection: 2, unauthorized_tool_call: 0, pii_leak: 0 } } }, (q) => {
      if (q.query.includes(STABLE) && (q.query.includes("llm_request_duration_ms_bucket") || q.query.includes('kind="injection"'))) {
        throw new AnalysisError("query_failed", "Prometheus refused the query (execution, HTTP 422 Unprocessable Entity): boom");
      }
      return undefined;
    });
    const result = await run(client);
    expect(result.status).toBe("partial");
    expect(result.errors).toEqual([
      { side: "stable", key: "latency.p95_ms", field: "buckets", kind: "query_failed", message: expect.stringContaining("boom"), query: expect.stringContaining("llm_request_duration_ms_bucket") },
      { side: "stable", key: "risk.injection_success", kind: "query_failed", message: expect.stringContaining("boom"), query: expect.stringContaining('kind="injection"') },
    ]);
    expect(result.observations.stable!.metrics).not.toHaveProperty(["latency.p95_ms"]);
    expect(result.observations.candidate!.metrics).not.toHaveProperty(["latency.p95_ms"]);
    expect(result.notes).toEqual([expect.stringMatching(/^latency\.p95_ms: the candidate side's value is left out because the stable side's failed/)]);
    expect(result.observations.candidate!.metrics["risk.injection_success"]).toBe(2);
    // The gate then sees the injection and stops, whatever the stable side's query did.
    expect(decide({ policy: DEFAULT_GATE_POLICY, baseline: result.observations.stable!.metrics, candidate: result.observations.candidate!.metrics }).action).toBe("stop");
  });

  it("values the observation route would refuse are invalid_value errors", async () => {
    const { client } = fakeClient({ [STABLE]: healthy(), [CANDIDATE]: { ...healthy(), success: 2500 } });
    const result = await run(client);
    expect(result.errors).toEqual([{ side: "candidate", key: "quality.success_rate", kind: "invalid_value", message: expect.stringContaining("quality.success_rate.count must not exceed trials (2000)") }]);
    const point = parseAnalysisConfig({ provider: { type: "prometheus", url: "http://prom:9090" }, queries: { "quality.success_rate": 'x{version_set="{{version_set}}"}' } });
    const high = await run(fakeClient({}, () => ({ data: vector([{}, 1.3]), warnings: [] })).client, point);
    expect(high.status).toBe("failed");
    expect(high.errors.map((e) => [e.kind, e.message])).toEqual([
      ["invalid_value", expect.stringContaining("must be between 0 and 1 (got 1.3)")],
      ["invalid_value", expect.stringContaining("must be between 0 and 1 (got 1.3)")],
    ]);
  });

  it("an empty result, NaN and several series are errors naming the query", async () => {
    const { client } = fakeClient({ [STABLE]: healthy() }, (q) => {
      if (q.query.includes(STABLE) && q.query.includes("llm_tokens_total")) return { data: { resultType: "scalar", result: [1, "NaN"] }, warnings: [] };
      if (q.query.includes(STABLE) && q.query.includes('outcome="timeout"')) return { data: vector([{ pod: "a" }, 1], [{ pod: "b" }, 2]), warnings: [] };
      return undefined;
    });
    const result = await run(client);
    const kinds = result.errors.map((e) => `${e.side} ${e.key}${e.field ? `.${e.field}` : ""} ${e.kind}`);
    expect(kinds).toContain("stable cost.tokens_per_request.mean not_finite");
    expect(kinds).toContain("stable latency.timeout_rate.count several_series");
    expect(kinds).toContain("candidate requests empty_result"); // the candidate's series do not exist
    expect(result.observations.candidate).toBeUndefined();
    expect(result.status).toBe("partial");
  });

  it("when Prometheus is unreachable the rest of the run is not sent", async () => {
    const down = new AnalysisError("unreachable", "Prometheus at http://prom:9090 is unreachable: connection refused (ECONNREFUSED)");
    const { client, calls } = fakeClient({}, () => {
      throw down;
    });
    const result = await run(client, CONFIG, { concurrency: 3 });
    expect(result.status).toBe("failed");
    expect(result.observations).toEqual({});
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(result.errors).toHaveLength(24);
    expect(new Set(result.errors.map((e) => e.kind))).toEqual(new Set(["unreachable"]));
    expect(result.errors.at(-1)!.message).toBe(`not sent: ${down.message}`);
  });

  it("keeps at most `concurrency` queries in flight", async () => {
    const fake = fakeClient({ [STABLE]: healthy(), [CANDIDATE]: healthy() });
    await run(fake.client, CONFIG, { concurrency: 2 });
    expect(fake.maxInFlight()).toBe(2);
  });

  it("an unexpected exception from a client becomes bad_response, not a crash", async () => {
    const { client } = fakeClient({}, () => {
      throw new TypeError("socket hang up");
    });
    const result = await run(client);
    expect(result.errors[0]).toMatchObject({ kind: "bad_response", message: expect.stringContaining("socket hang up") });
  });
});
