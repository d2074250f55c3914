/**
 * The analysis loop's wiring on both backends, with a stand-in Prometheus (a fetch that answers
 * the HTTP API's JSON) and a clock the test moves: windows follow the rollout's start, each run
 * records one observation per side through the gate (source "prometheus", with its PromQL), auto
 * mode acts on them, a failed measurement is never a verdict and only `consecutive_error_limit`
 * error runs in a row pause — and on Postgres two instances racing for the same windows run each
 * once. The real Prometheus is in analysis-prometheus.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalysisLoop } from "../../src/analysis/loop.js";
import { createLogger } from "../../src/logger.js";
import { deployedEnv, envPath, history, makeSets, startRollout } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const P = "looped";
const INTERVAL = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fetch standing in for Prometheus: `value(set)` answers each query for that version set. */
function stubPrometheus() {
  const state = {
    down: false,
    queries: [] as string[],
    values: new Map<string, number>(),
  };
  const fetchStub = (async (_url: string | URL | Request, init?: RequestInit) => {
    if (state.down) throw Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }) });
    const params = new URLSearchParams(String(init?.body ?? ""));
    const query = params.get("query") ?? "";
    state.queries.push(query);
    const set = /version_set="([^"]+)"/.exec(query)?.[1] ?? "";
    const value = state.values.get(set);
    const result = value === undefined ? [] : [{ metric: {}, value: [Number(params.get("time") ?? 0), String(value)] }];
    return new Response(JSON.stringify({ status: "success", data: { resultType: "vector", result } }), { headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { state, fetch: fetchStub };
}

const config = (extra: Record<string, unknown> = {}) => ({
  provider: { type: "prometheus", url: "http://prometheus.test:9090" },
  interval_seconds: INTERVAL,
  queries: { "quality.success_rate": 'avg(llm_success_ratio{version_set="{{version_set}}",env="{{environment}}"}[{{window}}])' },
  ...extra,
});

describe.each(backends())("the analysis loop on $name", (backend) => {
  let t: TestApp;
  let clock = new Date();
  const prom = stubPrometheus();
  let sets: string[];

  beforeAll(async () => {
    t = await startTestApp(backend, { analysis: { fetch: prom.fetch, now: () => clock } });
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
  });
  afterAll(async () => t?.close());

  const runDue = () => t.pinset.services.analysis.runDue();
  const runs = async (env: string) => (await (await t.request("GET", envPath(P, env, "/analysis/runs"))).json()).items as Array<Record<string, any>>;
  const rollout = async (env: string) => (await (await t.request("GET", envPath(P, env, "/rollout"))).json()) as Record<string, any>;

  it("runs each closed window once, records both sides through the gate, and auto mode rolls back a worse candidate", async () => {
    const [stable, candidate] = sets as [string, string];
    await deployedEnv(t, P, "prod", stable);
    expect((await t.request("PUT", envPath(P, "prod", "/analysis"), { body: config() })).status).toBe(201);
    prom.state.values.set(stable, 0.95).set(candidate, 0.95);
    const started = await startRollout(t, P, "prod", { candidate, percent: 10, auto: true });
    clock = new Date(Date.parse(started.created_at) + 30_000);
    expect(await runDue()).toBe(0); // the first window has not closed
    clock = new Date(Date.parse(started.created_at) + INTERVAL * 1000);
    expect(await runDue()).toBe(1);
    expect(await runDue()).toBe(0); // the same window is not run twice

    const [run] = await runs("prod");
    expect(run).toMatchObject({ rollout_id: started.id, status: "ok", errors: [], action: null });
    expect(run!.window_end).toBe(clock.toISOString());
    expect(Date.parse(run!.window_end) - Date.parse(run!.window_start)).toBe(INTERVAL * 1000);
    const observations = (await (await t.request("GET", envPath(P, "prod", "/observations"))).json()).items;
    expect(observations.map((o: { side: string }) => o.side).sort()).toEqual(["candidate", "stable"]);
    expect(Object.values(run!.observations).sort()).toEqual(observations.map((o: { id: string }) => o.id).sort());
    for (const o of observations) {
      expect(o.source).toBe("prometheus");
      expect(o.metrics).toEqual({ "quality.success_rate": 0.95 });
      expect(o.queries["quality.success_rate"]).toBe(`avg(llm_success_ratio{version_set="${o.version_set}",env="prod"}[1m])`);
    }
    expect((await rollout("prod")).state).toBe("running");

    // The candidate gets worse: the next window's observations roll it back, nobody pushed anything.
    prom.state.values.set(candidate, 0.8);
    clock = new Date(clock.getTime() + INTERVAL * 1000);
    expect(await runDue()).toBe(1);
    const after = await rollout("prod");
    expect(after.state).toBe("aborted");
    const abort = (await history(t, P, "prod")).find((h) => h.action === "rollout.abort" || h.action === "abort");
    expect(abort?.actor).toBe("system:analysis");
    // An ended rollout is not analysed.
    clock = new Date(clock.getTime() + INTERVAL * 1000);
    expect(await runDue()).toBe(0);
  });

  it("treats a failed measurement as no data: error runs are recorded, and only the limit in a row pauses (never a rollback)", async () => {
    const [stable, , candidate] = sets as [string, string, string];
    await deployedEnv(t, P, "staging", stable);
    expect((await t.request("PUT", envPath(P, "staging", "/analysis"), { body: config({ consecutive_error_limit: 2 }) })).status).toBe(201);
    prom.state.values.set(candidate, 0.2); // far worse — but never read while Prometheus is down
    const started = await startRollout(t, P, "staging", { candidate, percent: 5, auto: true });
    clock = new Date(Date.parse(started.created_at) + INTERVAL * 1000);

    prom.state.down = true;
    expect(await runDue()).toBe(1);
    let [run] = await runs("staging");
    expect(run).toMatchObject({ status: "failed", action: null, observations: {} });
    expect(run!.errors[0]).toMatchObject({ kind: "unreachable" });
    expect((await rollout("staging")).state).toBe("running");

    // A clean run in between resets the count.
    prom.state.down = false;
    prom.state.values.set(candidate, 0.95).set(stable, 0.95);
    clock = new Date(clock.getTime() + INTERVAL * 1000);
    expect(await runDue()).toBe(1);
    prom.state.down = true;
    clock = new Date(clock.getTime() + INTERVAL * 1000);
    expect(await runDue()).toBe(1);
    expect((await rollout("staging")).state).toBe("running");

    // A second error run in a row reaches the limit: paused, with the reason.
    clock = new Date(clock.getTime() + INTERVAL * 1000);
    expect(await runDue()).toBe(1);
    [run] = await runs("staging");
    expect(run).toMatchObject({ status: "failed", action: "paused" });
    const paused = await rollout("staging");
    expect(paused.state).toBe("paused");
    const pause = (await history(t, P, "staging")).find((h) => (h.reason ?? "").startsWith("analysis:"));
    expect(pause?.reason).toMatch(/2 runs in a row could not read the metrics .*unreachable|connection refused/);
    // Paused rollouts are not read; nothing ever rolled back.
    clock = new Date(clock.getTime() + INTERVAL * 1000);
    expect(await runDue()).toBe(0);
    expect((await history(t, P, "staging")).some((h) => String(h.action).includes("abort"))).toBe(false);
    prom.state.down = false;
  });

  it("skips ahead to the latest whole window after a gap, instead of running every missed one", async () => {
    const [stable, candidate] = sets as [string, string];
    await deployedEnv(t, P, "gap", stable);
    expect((await t.request("PUT", envPath(P, "gap", "/analysis"), { body: config() })).status).toBe(201);
    prom.state.values.set(stable, 0.95).set(candidate, 0.95);
    const started = await startRollout(t, P, "gap", { candidate, percent: 5 });
    clock = new Date(Date.parse(started.created_at) + 10 * INTERVAL * 1000 + 5_000);
    expect(await runDue()).toBe(1);
    expect(await runDue()).toBe(0);
    const [run] = await runs("gap");
    expect(run!.window_end).toBe(clock.toISOString());
  });

  it("runs from the background loop on its tick", async () => {
    const [stable, candidate] = sets as [string, string];
    await deployedEnv(t, P, "ticked", stable);
    expect((await t.request("PUT", envPath(P, "ticked", "/analysis"), { body: config({ interval_seconds: 5 }) })).status).toBe(201);
    const started = await startRollout(t, P, "ticked", { candidate, percent: 5 });
    clock = new Date(Date.parse(started.created_at) + 6_000);
    const ticking = new AnalysisLoop(t.pinset.services.analysis, { logger: createLogger({ level: "silent" }), tickMs: 20 });
    ticking.start();
    try {
      for (let i = 0; i < 100 && (await runs("ticked")).length === 0; i++) await sleep(20);
    } finally {
      await ticking.stop();
    }
    expect(await runs("ticked")).toHaveLength(1);
  });
});

describe.runIf(backends().some((b) => b.database === "postgres"))("two instances on one Postgres", () => {
  const backend = backends().find((b) => b.database === "postgres")!;
  let a: TestApp;
  let b: TestApp;
  let clock = new Date();
  const prom = stubPrometheus();

  beforeAll(async () => {
    a = await startTestApp(backend, { analysis: { fetch: prom.fetch, now: () => clock } });
    b = await startTestApp(backend, { sharedDatabaseOf: a, analysis: { fetch: prom.fetch, now: () => clock } });
    expect((await a.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("run each window exactly once between them", async () => {
    const [stable, candidate] = (await makeSets(a, P, 2)) as [string, string];
    await deployedEnv(a, P, "prod", stable);
    prom.state.values.set(stable, 0.95).set(candidate, 0.95);
    expect((await a.request("PUT", envPath(P, "prod", "/analysis"), { body: config() })).status).toBe(201);
    const started = await startRollout(a, P, "prod", { candidate, percent: 10 });
    let ran = 0;
    for (let window = 1; window <= 5; window++) {
      clock = new Date(Date.parse(started.created_at) + window * INTERVAL * 1000);
      const counts = await Promise.all([a.pinset.services.analysis.runDue(), b.pinset.services.analysis.runDue(), a.pinset.services.analysis.runDue(), b.pinset.services.analysis.runDue()]);
      ran += counts.reduce((x, y) => x + y, 0);
    }
    expect(ran).toBe(5);
    const runs = (await (await b.request("GET", envPath(P, "prod", "/analysis/runs"))).json()).items;
    expect(runs).toHaveLength(5);
    expect(new Set(runs.map((r: { window_end: string }) => r.window_end)).size).toBe(5);
    const observations = (await (await a.request("GET", envPath(P, "prod", "/observations?limit=100"))).json()).items;
    expect(observations).toHaveLength(10);
  });
});
