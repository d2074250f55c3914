/**
 * The statistical gate through HTTP (issue 14): observations in the sample form with `requests`
 * and `segments` (stored, listed back; every malformed case a 422 naming the path with nothing
 * written), the decision's sequential reasons over the pooled samples of the current step, the
 * point/sample mix, the sample-ratio check at the percent in force, and required segments.
 * The pure rules are unit-tested (pool, sequential-gate, gates); this proves the wiring.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, expectProblem, makeSets, observe, startRollout, type RolloutJson } from "../support/rollouts.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const P = "samples";

interface Reason {
  metric: string;
  verdict: string;
  method: string;
  interval: { low: number | null; high: number | null } | null;
  confidence: number | null;
  samples: { baseline: number; candidate: number } | null;
  needed: { baseline: number; candidate: number } | null;
  summary: string;
  baseline: number | null;
  candidate: number | null;
}
interface Decision {
  signal: string;
  action: string;
  reasons: Reason[];
}

const rate = (count: number, trials: number) => ({ count, trials });
/**
 * A window of the real clock, a whole minute ahead (the sample-ratio check needs windows after
 * the rollout's start; both sides must name the same window).
 */
function liveWindow(offsetMinutes: number): { window_start: string; window_end: string } {
  const start = (Math.floor(Date.now() / 60_000) + 1 + offsetMinutes) * 60_000;
  return { window_start: new Date(start).toISOString(), window_end: new Date(start + 60_000).toISOString() };
}

describe.each(backends())("observation samples and the sequential gate on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  let envCount = 0;

  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
  });
  afterAll(async () => t?.close());

  async function rolloutEnv(body: Record<string, unknown> = {}): Promise<{ env: string; rollout: RolloutJson }> {
    const env = `env-${++envCount}`;
    await deployedEnv(t, P, env, sets[0]!);
    const rollout = await startRollout(t, P, env, { candidate: sets[1], percent: 1, ...body });
    return { env, rollout };
  }

  async function decide(env: string): Promise<Decision> {
    const res = await t.request("GET", envPath(P, env, "/rollout/decision"));
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Decision;
  }

  async function observeOk(env: string, set: string, metrics: unknown, extra: Record<string, unknown> = {}): Promise<{ decision: Decision }> {
    const res = await observe(t, P, env, set, metrics, extra);
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { decision: Decision };
  }

  const reasonOf = (d: Decision, metric: string) => {
    const r = d.reasons.find((x) => x.metric === metric);
    expect(r, JSON.stringify(d.reasons)).toBeDefined();
    return r!;
  };

  it("stores the sample forms, requests and segments, and lists them back as sent", async () => {
    const { env } = await rolloutEnv();
    const metrics = {
      quality: { success_rate: rate(1812, 2000) },
      latency: {
        p95_ms: { buckets: [{ le: 250, count: 640 }, { le: 500, count: 1502 }, { le: 1000, count: 1921 }, { le: "+Inf", count: 2000 }] },
        timeout_rate: rate(3, 2000),
      },
      cost: { tokens_per_request: { mean: 640, stddev: 120, count: 2000 } },
      risk: { injection_success: 0 },
    };
    await observeOk(env, sets[1]!, metrics, { requests: 2000, segments: { attack: 14, long_context: 61 } });
    await observeOk(env, sets[0]!, { "quality.success_rate": 0.9 });
    const list = (await (await t.request("GET", envPath(P, env, "/observations"))).json()) as { items: Array<Record<string, unknown>> };
    expect(list.items).toHaveLength(2);
    expect(list.items[0]).toMatchObject({ requests: null, segments: null, metrics: { "quality.success_rate": 0.9 } });
    expect(list.items[1]).toMatchObject({
      requests: 2000,
      segments: { attack: 14, long_context: 61 },
      metrics: {
        "quality.success_rate": rate(1812, 2000),
        "latency.p95_ms": metrics.latency.p95_ms,
        "latency.timeout_rate": rate(3, 2000),
        "cost.tokens_per_request": metrics.cost.tokens_per_request,
        "risk.injection_success": 0,
      },
    });
  });

  it("refuses every malformed sample, requests and segments with 422 naming the path, and stores nothing", async () => {
    const { env } = await rolloutEnv();
    const before = await tableCounts(t);
    const buckets = (list: Array<[number | string, number]>) => ({ buckets: list.map(([le, count]) => ({ le, count })) });
    const cases: Array<{ metrics?: unknown; extra?: Record<string, unknown>; path: string }> = [
      { metrics: { "quality.success_rate": rate(2001, 2000) }, path: "body.metrics.quality.success_rate.count" },
      { metrics: { quality: { adoption_rate: rate(-1, 10) } }, path: "body.metrics.quality.adoption_rate.count" },
      { metrics: { "latency.timeout_rate": { count: 1.5, trials: 10 } }, path: "body.metrics.latency.timeout_rate.count" },
      { metrics: { "quality.success_rate": { count: 1, trials: 10, extra: 1 } }, path: "body.metrics.quality.success_rate.extra" },
      { metrics: { "quality.success_rate": { count: "1", trials: 10 } }, path: "body.metrics.quality.success_rate.count" },
      { metrics: { "latency.p95_ms": buckets([[100, 50], [200, 40], ["+Inf", 60]]) }, path: "body.metrics.latency.p95_ms.buckets.1.count" },
      { metrics: { "latency.p95_ms": buckets([[100, 10], [200, 20]]) }, path: "body.metrics.latency.p95_ms.buckets.1.le" },
      { metrics: { "latency.p95_ms": buckets([[200, 10], [100, 20], ["+Inf", 30]]) }, path: "body.metrics.latency.p95_ms.buckets.1.le" },
      { metrics: { "latency.p95_ms": buckets([["+Inf", 10], [100, 20]]) }, path: "body.metrics.latency.p95_ms.buckets.0.le" },
      { metrics: { "latency.p95_ms": { buckets: [] } }, path: "body.metrics.latency.p95_ms.buckets" },
      { metrics: { "cost.tokens_per_request": { mean: 640, stddev: -1, count: 10 } }, path: "body.metrics.cost.tokens_per_request.stddev" },
      { metrics: { "cost.tokens_per_request": { mean: 640, stddev: 1, count: 0 } }, path: "body.metrics.cost.tokens_per_request.count" },
      { metrics: { "risk.pii_leaks": rate(1, 10) }, path: "body.metrics.risk.pii_leaks" },
      { metrics: { "quality.success_rate": [1, 2] }, path: "body.metrics.quality.success_rate" },
      { extra: { requests: -1 }, path: "body.requests" },
      { extra: { requests: 10.5 }, path: "body.requests" },
      { extra: { requests: "10" }, path: "body.requests" },
      { extra: { segments: [1] }, path: "body.segments" },
      { extra: { segments: { attack: -2 } }, path: "body.segments.attack" },
      { extra: { segments: { "Not A Name": 2 } }, path: "body.segments.Not A Name" },
    ];
    for (const c of cases) {
      const res = await observe(t, P, env, sets[1]!, c.metrics ?? { "quality.success_rate": rate(1, 2) }, c.extra ?? {});
      const problem = await expectProblem(res, 422, "validation_failed");
      expect(problem.errors?.map((e) => e.path), JSON.stringify(c)).toContain(c.path);
    }
    // Several problems in one body are all named at once.
    const many = await expectProblem(
      await observe(t, P, env, sets[1]!, { "quality.success_rate": rate(5, 4), "cost.tokens_per_request": { mean: 1, stddev: -1, count: 1 } }, { requests: -1 }),
      422,
      "validation_failed",
    );
    expect(many.errors?.map((e) => e.path).sort()).toEqual(["body.metrics.cost.tokens_per_request.stddev", "body.metrics.quality.success_rate.count", "body.requests"]);
    expect(await tableCounts(t)).toEqual(before);
  });

  it("judges sequentially over both sides' pooled samples: method, interval, confidence, samples and a summary", async () => {
    const { env } = await rolloutEnv();
    // Two windows per side: the pooled counts are the sums.
    for (const [set, k] of [[sets[0]!, 1800], [sets[1]!, 1810]] as const) {
      await observeOk(env, set, { "quality.success_rate": rate(k, 2000), "cost.tokens_per_request": { mean: 600, stddev: 100, count: 2000 } });
      await observeOk(env, set, { "quality.success_rate": rate(k, 2000), "cost.tokens_per_request": { mean: 600, stddev: 100, count: 2000 } });
    }
    const d = await decide(env);
    const q = reasonOf(d, "quality.success_rate");
    expect(q).toMatchObject({ method: "sequential", confidence: 0.95, samples: { baseline: 4000, candidate: 4000 }, verdict: "pass" });
    expect(q.baseline).toBeCloseTo(0.9, 10);
    expect(q.candidate).toBeCloseTo(0.905, 10);
    expect(q.interval!.low!).toBeLessThan(0.005);
    expect(q.interval!.high!).toBeGreaterThan(0.005);
    expect(q.summary).toMatch(/^success rate: candidate 90.5 % vs baseline 90 % \(n = 4 000 \/ 4 000\), difference \+0.5 pt, 95 % interval .* inside the hold line \(−3 pt\): pass$/);
    const cost = reasonOf(d, "cost.tokens_per_request");
    expect(cost).toMatchObject({ method: "sequential", samples: { baseline: 4000, candidate: 4000 }, verdict: "pass" });
    expect(d.action).toBe("advance");

    // A confidence from the policy is used and reported.
    expect((await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { confidence: 0.99 } })).status).toBe(200);
    expect(reasonOf(await decide(env), "quality.success_rate").confidence).toBe(0.99);
  });

  it("rolls an auto rollout back on a sampled regression the interval proves, at the observation", async () => {
    const { env } = await rolloutEnv({ auto: true });
    await observeOk(env, sets[0]!, { "quality.success_rate": rate(9000, 10_000) });
    const { decision } = await observeOk(env, sets[1]!, { "quality.success_rate": rate(1600, 2000) });
    expect(decision.action).toBe("rollback");
    expect(reasonOf(decision, "quality.success_rate")).toMatchObject({ method: "sequential", verdict: "rollback" });
    const rollout = (await (await t.request("GET", envPath(P, env, "/rollout"))).json()) as RolloutJson;
    expect(rollout.state).toBe("aborted");
  });

  it("mixes point and sample forms as documented: the sample form wins once present; one side's plain numbers make it a point comparison", async () => {
    const { env } = await rolloutEnv();
    await observeOk(env, sets[0]!, { "quality.success_rate": 0.5 });
    await observeOk(env, sets[1]!, { "quality.success_rate": 0.5 });
    expect(reasonOf(await decide(env), "quality.success_rate")).toMatchObject({ method: "point", verdict: "pass", interval: null, samples: null, confidence: null });

    // The candidate sends samples: its plain 0.5 is ignored; the baseline has only plain numbers → points.
    await observeOk(env, sets[1]!, { "quality.success_rate": rate(1900, 2000) });
    let q = reasonOf(await decide(env), "quality.success_rate");
    expect(q).toMatchObject({ method: "point", candidate: 0.95, baseline: 0.5 });
    expect(q.summary).toContain("the baseline reports plain numbers only");
    expect(q.summary).toContain("candidate: 1 plain value ignored: the sample form wins once present");

    // A later plain number does not override the samples either.
    await observeOk(env, sets[1]!, { "quality.success_rate": 0.1 });
    await observeOk(env, sets[0]!, { "quality.success_rate": rate(1880, 2000) });
    q = reasonOf(await decide(env), "quality.success_rate");
    expect(q).toMatchObject({ method: "sequential", samples: { baseline: 2000, candidate: 2000 } });
    expect(q.candidate).toBeCloseTo(0.95, 10);
    expect(q.summary).toContain("candidate: 2 plain values ignored");
    expect(q.summary).toContain("baseline: 1 plain value ignored");
  });

  it("pools the samples of the current step only: after an advance the step starts afresh", async () => {
    const { env } = await rolloutEnv();
    await observeOk(env, sets[0]!, { "quality.success_rate": rate(1800, 2000), "risk.pii_leaks": 0 });
    await observeOk(env, sets[1]!, { "quality.success_rate": rate(1800, 2000), "risk.pii_leaks": 0 });
    expect(reasonOf(await decide(env), "quality.success_rate").samples).toEqual({ baseline: 2000, candidate: 2000 });
    const advanced = await t.request("POST", envPath(P, env, "/rollout/advance"), { body: { force: true, reason: "test" } });
    expect(advanced.status, await advanced.clone().text()).toBe(200);
    // The earlier step's samples no longer count; the metric stays in the decision as no_data
    // (the risk counts alone must not let it pass).
    let d = await decide(env);
    const empty = reasonOf(d, "quality.success_rate");
    expect(empty.verdict).toBe("no_data");
    expect(empty.summary).toContain("no sample windows in this step yet");
    expect(reasonOf(d, "risk.pii_leaks").verdict).toBe("pass");
    expect(d.action).toBe("hold");
    await observeOk(env, sets[0]!, { "quality.success_rate": rate(450, 500) });
    await observeOk(env, sets[1]!, { "quality.success_rate": rate(460, 500) });
    d = await decide(env);
    expect(reasonOf(d, "quality.success_rate").samples).toEqual({ baseline: 500, candidate: 500 });
  });

  it("checks the sample ratio at the percent in force, and not with an allowlist", async () => {
    const { env } = await rolloutEnv();
    // 1 %: the candidate served 29.8 % of the requests → pause. Both sides report the SAME window
    // (computed once): the check pairs them window by window, and two calls to liveWindow can
    // straddle a minute boundary on a slow machine.
    const first = liveWindow(1);
    await observeOk(env, sets[0]!, { "quality.success_rate": rate(900, 1000) }, { requests: 14_040, ...first });
    await observeOk(env, sets[1]!, { "quality.success_rate": rate(900, 1000) }, { requests: 5_960, ...first });
    let d = await decide(env);
    const srm = reasonOf(d, "assignment");
    expect(srm).toMatchObject({ verdict: "pause", method: "sequential", samples: { baseline: 14_040, candidate: 5_960 } });
    expect(srm.summary).toMatch(/^candidate served 29.8 % of 20 000 requests, expected 1 % .*assignment is broken, results are not trustworthy: pause$/);
    expect(d.action).toBe("pause");

    // At 25 % (after an advance) the same split is consistent with the assignment, window by window.
    const { env: other } = await rolloutEnv();
    expect((await t.request("POST", envPath(P, other, "/rollout/advance"), { body: { percent: 25, force: true, reason: "t" } })).status).toBe(200);
    const second = liveWindow(2);
    await observeOk(other, sets[0]!, { "quality.success_rate": rate(900, 1000) }, { requests: 15_000, ...second });
    await observeOk(other, sets[1]!, { "quality.success_rate": rate(900, 1000) }, { requests: 5_000, ...second });
    d = await decide(other);
    expect(reasonOf(d, "assignment")).toMatchObject({ verdict: "pass", baseline: 0.25 });

    // With an allowlist the share has no expected value: no check.
    const { env: allowed } = await rolloutEnv({ allow: ["qa"] });
    const third = liveWindow(1);
    await observeOk(allowed, sets[0]!, { "quality.success_rate": rate(900, 1000) }, { requests: 14_040, ...third });
    await observeOk(allowed, sets[1]!, { "quality.success_rate": rate(900, 1000) }, { requests: 5_960, ...third });
    expect((await decide(allowed)).reasons.map((r) => r.metric)).not.toContain("assignment");
  });

  it("refuses schedule policies whose steps fall, exceed 100 or give a negative bake (422 naming the path), and stores nothing", async () => {
    const { env } = await rolloutEnv();
    const before = await tableCounts(t);
    const cases: Array<[unknown, string]> = [
      [{ steps: [{ percent: 5 }, { percent: 1 }, 100] }, "steps.1.percent"],
      [{ steps: [1, { percent: 150 }, 100] }, "steps.1.percent"],
      [{ steps: [1, 50] }, "steps.1"],
      [{ steps: [{ percent: 1, bake_seconds: -1 }, 100] }, "steps.0.bake_seconds"],
      [{ steps: [{ percent: 1, bake_seconds: 1.5 }, 100] }, "steps.0.bake_seconds"],
      [{ steps: [{ percent: 1, wait: 3 }, 100] }, "steps.0.wait"],
      [{ default_bake_seconds: -5 }, "default_bake_seconds"],
      [{ confidence: 0.2 }, "confidence"],
      [{ max_bake_factor: 0.5 }, "max_bake_factor"],
      [{ required_segments: { attack: 0 } }, "required_segments.attack"],
    ];
    for (const [body, path] of cases) {
      const problem = await expectProblem(await t.request("PUT", envPath(P, env, "/gate-policy"), { body }), 422, "validation_failed");
      expect(problem.errors?.map((e) => e.path), JSON.stringify(body)).toContain(path);
    }
    expect(await tableCounts(t)).toEqual(before);
    const ok = await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { steps: [{ percent: 1, bake_seconds: 60, min_samples: 10 }, 100], default_bake_seconds: 0 } });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await ok.json()).toMatchObject({ steps: [{ percent: 1, bake_seconds: 60, min_samples: 10 }, 100], default_bake_seconds: 0 });
  });

  it("holds on required segments until the candidate's summed counts reach every minimum", async () => {
    const { env } = await rolloutEnv();
    const put = await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { required_segments: { attack: 50, long_context: 50 } } });
    expect(put.status, await put.clone().text()).toBe(200);
    const ok = { "quality.success_rate": rate(1800, 2000) };
    await observeOk(env, sets[0]!, ok, { segments: { attack: 500 } });
    await observeOk(env, sets[1]!, ok, { segments: { attack: 30, long_context: 60 } });
    let d = await decide(env);
    const seg = reasonOf(d, "segments");
    expect(seg.verdict).toBe("inconclusive");
    expect(seg.summary).toContain("attack 30 of 50");
    expect(seg.summary).toContain("reached: long_context 60 of 50");
    expect(d.action).toBe("hold");
    const refused = await t.request("POST", envPath(P, env, "/rollout/advance"), { body: {} });
    expect(refused.status).toBe(409);

    await observeOk(env, sets[1]!, ok, { segments: { attack: 20 } });
    d = await decide(env);
    expect(reasonOf(d, "segments").verdict).toBe("pass");
    expect(d.action).toBe("advance");
  });
});
