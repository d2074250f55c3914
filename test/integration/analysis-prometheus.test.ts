/**
 * The analysis loop against a real Prometheus (Debian's package) scraping a stand-in runtime
 * every second, on both backends, in real time (about 40 s per backend): an auto rollout whose
 * candidate fails more often is rolled back with no observation pushed by anyone; stopping
 * Prometheus mid-rollout records errors and then pauses — never a rollback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, history, makeSets, startRollout } from "../support/rollouts.js";
import { startLlmExporter, type LlmExporter } from "../support/llm-exporter.js";
import { startPrometheus, type TestPrometheus } from "../support/prometheus.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const P = "scraped";
const INTERVAL = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe.each(backends())("analysis from a real Prometheus on $name", (backend) => {
  let t: TestApp;
  let exporter: LlmExporter;
  let prom: TestPrometheus;
  let sets: string[];

  beforeAll(async () => {
    exporter = await startLlmExporter({ seed: 15 });
    prom = await startPrometheus({ targets: [exporter.target] });
    t = await startTestApp(backend, { background: true, analysis: { tickMs: 250 } });
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
    for (const set of sets) exporter.serve(set, { requestsPerSecond: 500 });
    await prom.waitFor(`llm_requests_total{version_set="${sets[0]}"}`, (d) => (d.result as unknown[]).length > 0);
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    await prom?.close();
    await exporter?.close();
  });

  // Today's point form: one number per metric and side (the default queries give the sample forms).
  const successRate =
    'sum(increase(llm_requests_total{outcome="success",version_set="{{version_set}}"}[{{window}}])) / sum(increase(llm_requests_total{version_set="{{version_set}}"}[{{window}}]))';
  const analysis = (url: string, extra: Record<string, unknown> = {}) => ({
    provider: { type: "prometheus", url },
    interval_seconds: INTERVAL,
    timeout_seconds: 2,
    queries: { "quality.success_rate": successRate },
    ...extra,
  });
  const rollout = async (env: string) => (await (await t.request("GET", envPath(P, env, "/rollout"))).json()) as { state: string };
  const runs = async (env: string) => (await (await t.request("GET", envPath(P, env, "/analysis/runs?limit=100"))).json()).items as Array<Record<string, any>>;

  it("rolls back a candidate that fails more often, judged on the default queries' samples, with nothing pushed", async () => {
    const [stable, , bad] = sets as [string, string, string];
    exporter.serve(bad, { requestsPerSecond: 500, successRate: 0.6 });
    await deployedEnv(t, P, "prod", stable);
    const { queries: _point, ...defaults } = analysis(prom.url);
    expect((await t.request("PUT", envPath(P, "prod", "/analysis"), { body: defaults })).status).toBe(201);
    await startRollout(t, P, "prod", { candidate: bad, percent: 10, auto: true });
    await until("the rollback", async () => ((await rollout("prod")).state === "aborted" ? true : undefined), 40_000);
    const observations = (await (await t.request("GET", envPath(P, "prod", "/observations?limit=100"))).json()).items as Array<Record<string, any>>;
    expect(observations.length).toBeGreaterThanOrEqual(2);
    expect(observations.every((o) => o.source === "prometheus")).toBe(true);
    const candidate = observations.find((o) => o.side === "candidate")!;
    const { count, trials } = candidate.metrics["quality.success_rate"];
    expect(trials).toBeGreaterThan(1000);
    expect(count / trials).toBeLessThan(0.7);
    expect(candidate.requests).toBe(trials);
    expect(candidate.metrics["latency.p95_ms"].buckets.at(-1)).toMatchObject({ le: "+Inf" });
    const abort = (await history(t, P, "prod")).find((h) => h.actor === "system:analysis" && /abort/.test(h.action));
    expect(abort?.reason).toMatch(/success/);
    const reasons = (abort?.detail as { decision?: { reasons?: Array<{ metric: string; method: string }> } })?.decision?.reasons ?? [];
    expect(reasons.find((r) => r.metric === "quality.success_rate")?.method).toBe("sequential");
  }, 60_000);

  it("records errors while Prometheus is down and pauses at the limit, never rolling back", async () => {
    const [stable, good] = sets as [string, string];
    await deployedEnv(t, P, "staging", stable);
    expect((await t.request("PUT", envPath(P, "staging", "/analysis"), { body: analysis(prom.url, { consecutive_error_limit: 2 }) })).status).toBe(201);
    await startRollout(t, P, "staging", { candidate: good, percent: 10, auto: true });
    await until("a clean run", async () => ((await runs("staging")).some((r) => r.status === "ok") ? true : undefined), 30_000);
    await prom.stop();
    try {
      await until("the pause", async () => ((await rollout("staging")).state === "paused" ? true : undefined), 40_000);
    } finally {
      await prom.start();
    }
    const recent = await runs("staging");
    expect(recent[0]).toMatchObject({ status: "failed", action: "paused" });
    expect(recent[0]!.errors[0].kind).toMatch(/unreachable|timeout/);
    expect(recent[1]).toMatchObject({ status: "failed", action: null });
    expect((await history(t, P, "staging")).some((h) => /abort/.test(h.action))).toBe(false);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/pinset_analysis_runs_total\{project="scraped",environment="staging",status="failed"\} [1-9]/);
    expect(metrics).toMatch(/pinset_rollout_state\{project="scraped",environment="staging",state="paused"\} 1/);
  }, 90_000);
});
