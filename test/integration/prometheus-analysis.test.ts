import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFromConfig } from "../../src/analysis/prometheus-client.js";
import { parseAnalysisConfig, type AnalysisConfig } from "../../src/analysis/config.js";
import { DEFAULT_QUERIES } from "../../src/analysis/default-queries.js";
import { evaluateAnalysis, type Evaluation } from "../../src/analysis/evaluate.js";
import { isHistogramSample, isMeanSample, isRateSample } from "../../src/rollouts/analysis/samples.js";
import { DEFAULT_GATE_POLICY } from "../../src/rollouts/gate-policy.js";
import { decide } from "../../src/rollouts/gates.js";
import { startLlmExporter, type LlmExporter } from "../support/llm-exporter.js";
import { startPrometheus, type TestPrometheus } from "../support/prometheus.js";

/**
 * The analysis against a real Prometheus (Debian's package) scraping a stand-in runtime every
 * second: the default queries, the sample forms they produce, the gate's verdicts on them, and
 * the errors a real Prometheus gives (malformed query, several series, NaN/Inf, nothing, down).
 */

const STABLE = "vs_0000stable";
const GOOD = "vs_1111good";
const BAD = "vs_2222bad";
const RISKY = "vs_3333risky";
const WINDOW = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let exporter: LlmExporter;
let prom: TestPrometheus;
let config: AnalysisConfig;

beforeAll(async () => {
  exporter = await startLlmExporter({ seed: 15 });
  exporter.serve(STABLE, { requestsPerSecond: 1000 });
  exporter.serve(GOOD, { requestsPerSecond: 1000 });
  exporter.serve(BAD, { requestsPerSecond: 1000, successRate: 0.8, tokensMean: 960 });
  exporter.serve(RISKY, { requestsPerSecond: 50 });
  prom = await startPrometheus({ targets: [exporter.target] });
  config = parseAnalysisConfig({ provider: { type: "prometheus", url: prom.url }, interval_seconds: WINDOW });
  // A full window of data behind the first scrape, plus a scrape's slack.
  await prom.waitFor(`llm_requests_total{version_set="${STABLE}"}`, (d) => (d.result as unknown[]).length > 0);
  await sleep((WINDOW + 2) * 1000);
}, 90_000);

afterAll(async () => {
  await prom?.close();
  await exporter?.close();
});

const evaluate = (candidate: string, options: { config?: AnalysisConfig; end?: Date; stable?: string } = {}): Promise<Evaluation> => {
  const c = options.config ?? config;
  return evaluateAnalysis({
    config: c,
    project: "support-bot",
    environment: "production",
    sides: { stable: options.stable ?? STABLE, candidate },
    windowEnd: options.end ?? new Date(Date.now() - 1500),
    client: clientFromConfig(c),
  });
};

const judge = (run: Evaluation) => decide({ policy: DEFAULT_GATE_POLICY, baseline: run.observations.stable!.metrics, candidate: run.observations.candidate!.metrics });

describe("the default queries against a real Prometheus", () => {
  it("give every sample form, and decide() advances a healthy candidate", async () => {
    const run = await evaluate(GOOD);
    expect(run.errors, prom.logs()).toEqual([]);
    expect(run.status).toBe("ok");
    for (const side of ["stable", "candidate"] as const) {
      const o = run.observations[side]!;
      expect(o.source).toBe("prometheus");
      // ~1 000 requests per second over the window (the exporter's timer and the scrapes jitter).
      expect(o.requests).toBeGreaterThan(WINDOW * 1000 * 0.7);
      expect(o.requests).toBeLessThan(WINDOW * 1000 * 1.3);
      const success = o.metrics["quality.success_rate"];
      expect(isRateSample(success) && success.trials === o.requests && success.count / success.trials).toBeCloseTo(0.9, 1);
      const p95 = o.metrics["latency.p95_ms"];
      expect(isHistogramSample(p95) && p95.buckets.at(-1)).toEqual({ le: "+Inf", count: o.requests });
      expect(isHistogramSample(p95) && p95.buckets.length).toBe(25);
      const tokens = o.metrics["cost.tokens_per_request"];
      expect(isMeanSample(tokens) && [Math.round(tokens.mean / 10), Math.round(tokens.stddev / 10)]).toEqual([60, 12]);
      expect(o.metrics["risk.injection_success"]).toBe(0);
    }
    const decision = judge(run);
    expect(decision.reasons.filter((r) => r.verdict !== "pass"), JSON.stringify(decision.reasons, null, 1)).toEqual([]);
    expect(decision.action).toBe("advance");
    expect(decision.reasons.find((r) => r.metric === "quality.success_rate")!.method).toBe("sequential");
  });

  it("and decide() rolls back a candidate the runtime makes worse", async () => {
    const run = await evaluate(BAD);
    expect(run.status).toBe("ok");
    const decision = judge(run);
    expect(decision.action).toBe("rollback");
    expect(decision.reasons.find((r) => r.metric === "quality.success_rate")).toMatchObject({ method: "sequential", verdict: "rollback" });
    expect(decision.reasons.find((r) => r.metric === "cost.tokens_per_request")).toMatchObject({ method: "sequential", verdict: "rollback" });
  });

  it("see a risk event and stop; the exact difference catches an event between two windows that increase() misses", async () => {
    exporter.riskEvent(RISKY, "injection");
    const eventAt = Date.now();
    const series = `llm_risk_events_total{kind="injection",version_set="${RISKY}"}`;
    await prom.waitFor(series, (d) => (d.result as { value: [number, string] }[])[0]?.value[1] === "1");
    await sleep(5 * 1000 + 1500);
    // The scrapes on either side of the event: a window boundary between them splits it.
    const samples = ((await prom.query(`${series}[30s]`)).result as { values: [number, string][] }[])[0]!.values;
    const first = samples.findIndex(([, v]) => v === "1");
    expect(first).toBeGreaterThan(0);
    const boundary = new Date(((samples[first - 1]![0] + samples[first]![0]) / 2) * 1000);
    expect(Math.abs(boundary.getTime() - eventAt)).toBeLessThan(3000);

    const windows = (riskQuery: string) => {
      const c = parseAnalysisConfig({ provider: { type: "prometheus", url: prom.url }, interval_seconds: 5, queries: { "risk.injection_success": riskQuery } });
      return Promise.all([boundary, new Date(boundary.getTime() + 5000)].map((end) => evaluate(RISKY, { config: c, end, stable: RISKY })));
    };
    const exact = await windows(DEFAULT_QUERIES["risk.injection_success"] as string);
    expect(exact.map((r) => r.observations.candidate!.metrics["risk.injection_success"])).toEqual([0, 1]);
    const naive = await windows(`sum(increase(${series.replace(RISKY, "{{version_set}}")}[{{window}}]))`);
    expect(naive.map((r) => r.observations.candidate!.metrics["risk.injection_success"])).toEqual([0, 0]);

    const now = await evaluate(RISKY, { config: parseAnalysisConfig({ provider: { type: "prometheus", url: prom.url }, interval_seconds: 30 }) });
    expect(now.observations.candidate!.metrics["risk.injection_success"]).toBe(1);
    expect(judge(now).action).toBe("stop");
  });
});

describe("what a real Prometheus answers wrongly is recorded as an analysis error", () => {
  it("a malformed query, several series, an infinite value, an empty result: each named, the rest observed", async () => {
    const vs = 'version_set="{{version_set}}"';
    const c = parseAnalysisConfig({
      provider: { type: "prometheus", url: prom.url, method: "GET" },
      interval_seconds: WINDOW,
      queries: {
        "quality.success_rate": { count: `sum(increase(llm_requests_total{outcome="success",${vs}}[{{window}}])`, trials: `sum(increase(llm_requests_total{${vs}}[{{window}}]))` },
        "latency.timeout_rate": `increase(llm_requests_total{${vs}}[{{window}}])`,
        "latency.p95_ms": DEFAULT_QUERIES["latency.p95_ms"],
        "cost.tokens_per_request": `sum(increase(llm_tokens_total{${vs}}[{{window}}])) / 0`,
        "risk.pii_leaks": `sum(increase(llm_risk_events_total{kind="no_such_kind",${vs}}[{{window}}]))`,
      },
    });
    const run = await evaluate(GOOD, { config: c });
    expect(run.status).toBe("partial");
    const byKey = (side: string) => Object.fromEntries(run.errors.filter((e) => e.side === side).map((e) => [`${e.key}${e.field ? `.${e.field}` : ""}`, `${e.kind}: ${e.message}`]));
    expect(byKey("candidate")).toEqual({
      "quality.success_rate.count": expect.stringMatching(/^query_failed: Prometheus refused the query \(bad_data, HTTP 400 Bad Request\): .*parse error/),
      "latency.timeout_rate": expect.stringMatching(/^several_series: the query returned 3 series where one is expected: \{.*outcome="(failure|success|timeout)"/),
      "cost.tokens_per_request": "not_finite: the value is +Inf: no finite number to judge",
      "risk.pii_leaks": expect.stringMatching(/^empty_result: the query returned no series/),
    });
    expect(Object.keys(byKey("stable")).sort()).toEqual(Object.keys(byKey("candidate")).sort());
    expect(run.errors.find((e) => e.key === "latency.timeout_rate")!.query).toBe(`increase(llm_requests_total{version_set="${STABLE}"}[10s])`);
    expect(Object.keys(run.observations.candidate!.metrics)).toEqual(["latency.p95_ms"]);
  });

  it("a hostile version set stays inside its label value: no injected series, an empty result", async () => {
    const c = parseAnalysisConfig({
      provider: { type: "prometheus", url: prom.url },
      interval_seconds: WINDOW,
      queries: {
        requests: 'sum(increase(llm_requests_total{version_set="{{version_set}}"}[{{window}}]))',
        "risk.pii_leaks": "sum(increase(llm_requests_total{version_set='{{version_set}}'}[{{window}}]))",
      },
    });
    for (const hostile of [`${STABLE}"} or vector(1) or llm_requests_total{a="`, `x\\"} or vector(1) #`, `x'} or vector(1) or up{a='`, `a\nb\\`]) {
      const run = await evaluate(hostile, { config: c });
      const candidate = run.errors.filter((e) => e.side === "candidate").map((e) => `${e.key} ${e.kind}`);
      expect(candidate, JSON.stringify(run.errors)).toEqual(["risk.pii_leaks empty_result", "requests empty_result"]);
    }
  });

  it("Prometheus stopped: every query is an unreachable error and no observation; started again, it answers", async () => {
    await prom.stop();
    const down = await evaluate(GOOD);
    expect(down.status).toBe("failed");
    expect(down.observations).toEqual({});
    expect(down.errors).toHaveLength(24);
    expect(new Set(down.errors.map((e) => e.kind))).toEqual(new Set(["unreachable"]));
    expect(down.errors[0]!.message).toBe(`Prometheus at ${prom.url} is unreachable: connection refused (ECONNREFUSED)`);

    await prom.start();
    // Same data directory: the window before the stop is still there.
    const earlier = await evaluate(GOOD, { end: new Date(Date.now() - 4000) });
    expect(earlier.observations.candidate?.metrics["quality.success_rate"]).toBeDefined();
  });
});
