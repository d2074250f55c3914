/**
 * The gate through HTTP: every row of API.md's default policy table (observations in, decision
 * JSON out), the worst-verdict rule, gate_blocked and force on advance, auto mode (pause, abort,
 * stop + freeze → 423, unfreeze), the gate policy and the observations' bad inputs. The pure
 * rules are unit-tested (test/unit/gates.test.ts); this proves the wiring.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_GATE_POLICY } from "../../src/rollouts/gate-policy.js";
import {
  decision,
  deployedEnv,
  envPath,
  expectProblem,
  history,
  makeSets,
  observe,
  startRollout,
  type RolloutJson,
} from "../support/rollouts.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const P = "gates";

type Metrics = Record<string, number>;
interface Row {
  line: string;
  baseline: Metrics;
  candidate: Metrics;
  metric: string;
  verdict: "pass" | "hold" | "pause" | "rollback" | "stop";
}

const SIGNAL = { advance: "green", hold: "yellow", pause: "yellow", rollback: "red", stop: "black" } as const;
const ACTION = { pass: "advance", hold: "hold", pause: "pause", rollback: "rollback", stop: "stop" } as const;

/** API.md's default table, one row per (line, verdict), at or next to each boundary. */
const TABLE: Row[] = [
  { line: "quality success", baseline: { "quality.success_rate": 0.95 }, candidate: { "quality.success_rate": 0.95 }, metric: "quality.success_rate", verdict: "pass" },
  { line: "quality success", baseline: { "quality.success_rate": 0.95 }, candidate: { "quality.success_rate": 0.92 }, metric: "quality.success_rate", verdict: "hold" },
  { line: "quality success", baseline: { "quality.success_rate": 0.95 }, candidate: { "quality.success_rate": 0.9 }, metric: "quality.success_rate", verdict: "pause" },
  { line: "quality success", baseline: { "quality.success_rate": 0.95 }, candidate: { "quality.success_rate": 0.89 }, metric: "quality.success_rate", verdict: "rollback" },
  { line: "quality adoption", baseline: { "quality.adoption_rate": 0.6 }, candidate: { "quality.adoption_rate": 0.61 }, metric: "quality.adoption_rate", verdict: "pass" },
  { line: "quality adoption", baseline: { "quality.adoption_rate": 0.6 }, candidate: { "quality.adoption_rate": 0.58 }, metric: "quality.adoption_rate", verdict: "hold" },
  { line: "quality adoption", baseline: { "quality.adoption_rate": 0.6 }, candidate: { "quality.adoption_rate": 0.56 }, metric: "quality.adoption_rate", verdict: "pause" },
  { line: "quality adoption", baseline: { "quality.adoption_rate": 0.6 }, candidate: { "quality.adoption_rate": 0.5 }, metric: "quality.adoption_rate", verdict: "rollback" },
  { line: "latency p95", baseline: { "latency.p95_ms": 1000 }, candidate: { "latency.p95_ms": 1100 }, metric: "latency.p95_ms", verdict: "pass" },
  { line: "latency p95", baseline: { "latency.p95_ms": 1000 }, candidate: { "latency.p95_ms": 1150 }, metric: "latency.p95_ms", verdict: "hold" },
  { line: "latency p95", baseline: { "latency.p95_ms": 1000 }, candidate: { "latency.p95_ms": 1250 }, metric: "latency.p95_ms", verdict: "pause" },
  { line: "latency p95", baseline: { "latency.p95_ms": 1000 }, candidate: { "latency.p95_ms": 1251 }, metric: "latency.p95_ms", verdict: "rollback" },
  { line: "latency timeouts", baseline: { "latency.timeout_rate": 0.01 }, candidate: { "latency.timeout_rate": 0.019 }, metric: "latency.timeout_rate", verdict: "pass" },
  { line: "latency timeouts", baseline: { "latency.timeout_rate": 0.01 }, candidate: { "latency.timeout_rate": 0.02 }, metric: "latency.timeout_rate", verdict: "rollback" },
  { line: "latency timeouts", baseline: { "latency.timeout_rate": 0 }, candidate: { "latency.timeout_rate": 0.001 }, metric: "latency.timeout_rate", verdict: "rollback" },
  { line: "cost", baseline: { "cost.tokens_per_request": 800 }, candidate: { "cost.tokens_per_request": 880 }, metric: "cost.tokens_per_request", verdict: "pass" },
  { line: "cost", baseline: { "cost.tokens_per_request": 800 }, candidate: { "cost.tokens_per_request": 920 }, metric: "cost.tokens_per_request", verdict: "hold" },
  { line: "cost", baseline: { "cost.tokens_per_request": 800 }, candidate: { "cost.tokens_per_request": 1000 }, metric: "cost.tokens_per_request", verdict: "pause" },
  { line: "cost", baseline: { "cost.tokens_per_request": 800 }, candidate: { "cost.tokens_per_request": 1001 }, metric: "cost.tokens_per_request", verdict: "rollback" },
  { line: "risk injection", baseline: { "risk.injection_success": 0 }, candidate: { "risk.injection_success": 0 }, metric: "risk.injection_success", verdict: "pass" },
  { line: "risk injection", baseline: { "risk.injection_success": 0 }, candidate: { "risk.injection_success": 1 }, metric: "risk.injection_success", verdict: "stop" },
  { line: "risk tools", baseline: { "risk.unauthorized_tool_calls": 0 }, candidate: { "risk.unauthorized_tool_calls": 1 }, metric: "risk.unauthorized_tool_calls", verdict: "stop" },
  { line: "risk pii", baseline: { "risk.pii_leaks": 0 }, candidate: { "risk.pii_leaks": 3 }, metric: "risk.pii_leaks", verdict: "stop" },
];

describe.each(backends())("rollout gates on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  let envCount = 0;

  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
  });
  afterAll(async () => t?.close());

  /** A fresh environment with stable = sets[0] and a rollout of sets[1] at 1 %. */
  async function rolloutEnv(body: Record<string, unknown> = {}): Promise<{ env: string; rollout: RolloutJson }> {
    const env = `env-${++envCount}`;
    await deployedEnv(t, P, env, sets[0]!);
    const rollout = await startRollout(t, P, env, { candidate: sets[1], percent: 1, ...body });
    return { env, rollout };
  }

  async function observeBoth(env: string, baseline: Metrics, candidate: Metrics): Promise<Response> {
    expect((await observe(t, P, env, sets[0]!, baseline)).status).toBe(201);
    return observe(t, P, env, sets[1]!, candidate);
  }

  it.each(TABLE)("$line: baseline $baseline vs candidate $candidate → $verdict", async (row) => {
    const { env } = await rolloutEnv();
    expect((await observeBoth(env, row.baseline, row.candidate)).status).toBe(201);
    const d = await decision(t, P, env);
    expect(d.action).toBe(ACTION[row.verdict]);
    expect(d.signal).toBe(SIGNAL[ACTION[row.verdict]]);
    const reason = d.reasons.find((r) => r.metric === row.metric);
    expect(reason).toMatchObject({ baseline: Object.values(row.baseline)[0], candidate: Object.values(row.candidate)[0], verdict: row.verdict });
    expect(reason!.threshold).toEqual(expect.any(String));
    expect(d.reasons.map((r) => r.metric)).not.toContain("observations");
  });

  it("holds with a no_data reason until both sides reported", async () => {
    const { env } = await rolloutEnv();
    expect(await decision(t, P, env)).toEqual({
      signal: "yellow",
      action: "hold",
      reasons: [expect.objectContaining({ metric: "observations", verdict: "no_data" })],
    });
    expect((await observe(t, P, env, sets[1]!, { "quality.success_rate": 0.99 })).status).toBe(201);
    const d = await decision(t, P, env);
    expect(d.action).toBe("hold");
    expect(d.reasons).toContainEqual(expect.objectContaining({ metric: "quality.success_rate", baseline: null, verdict: "no_data" }));
  });

  it("lets the worst verdict decide, and takes each side's most recent values", async () => {
    const { env } = await rolloutEnv();
    const baseline = { "quality.success_rate": 0.95, "latency.p95_ms": 1000, "cost.tokens_per_request": 800 };
    // pass + pause + hold → pause
    await observeBoth(env, baseline, { "quality.success_rate": 0.96, "latency.p95_ms": 1200, "cost.tokens_per_request": 900 });
    let d = await decision(t, P, env);
    expect(d).toMatchObject({ signal: "yellow", action: "pause" });
    expect(Object.fromEntries(d.reasons.map((r) => [r.metric, r.verdict]))).toEqual({
      "quality.success_rate": "pass",
      "latency.p95_ms": "pause",
      "cost.tokens_per_request": "hold",
    });
    // A later window replaces the candidate's latency only; quality and cost keep their latest values.
    const later = { window_start: "2026-01-01T01:00:00Z", window_end: "2026-01-01T02:00:00Z" };
    expect((await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1050 }, later)).status).toBe(201);
    d = await decision(t, P, env);
    expect(d).toMatchObject({ signal: "yellow", action: "hold" });
    expect(d.reasons.find((r) => r.metric === "latency.p95_ms")).toMatchObject({ candidate: 1050, verdict: "pass" });
    // A single risk event outranks everything, and a clean later window does not erase it.
    expect((await observe(t, P, env, sets[1]!, { "risk.pii_leaks": 1 }, later)).status).toBe(201);
    const clean = { window_start: "2026-01-01T02:00:00Z", window_end: "2026-01-01T03:00:00Z" };
    expect((await observe(t, P, env, sets[1]!, { "risk.pii_leaks": 0, "latency.p95_ms": 1000 }, clean)).status).toBe(201);
    d = await decision(t, P, env);
    expect(d).toMatchObject({ signal: "black", action: "stop" });
    expect(d.reasons.find((r) => r.metric === "risk.pii_leaks")).toMatchObject({ candidate: 1, verdict: "stop" });
  });

  it("refuses advance with 409 gate_blocked unless the decision is advance or force is given (recorded)", async () => {
    const { env, rollout } = await rolloutEnv();
    const blocked = await expectProblem(await t.request("POST", envPath(P, env, "/rollout/advance")), 409, "gate_blocked");
    expect(blocked.detail).toContain("hold");
    await observeBoth(env, { "latency.p95_ms": 1000 }, { "latency.p95_ms": 1300 });
    const rollback = await expectProblem(await t.request("POST", envPath(P, env, "/rollout/advance"), { body: { percent: 50 } }), 409, "gate_blocked");
    expect(rollback.detail).toContain("rollback");
    expect(rollback.detail).toContain("latency.p95_ms");
    expect((await (await t.request("GET", envPath(P, env, "/rollout"))).json()).percent).toBe(1);

    const forced = await t.request("POST", envPath(P, env, "/rollout/advance"), { body: { force: true, reason: "latency spike is the cold cache" } });
    expect(forced.status).toBe(200);
    expect(await forced.json()).toMatchObject({ id: rollout.id, percent: 5, state: "running" });
    const [entry] = await history(t, P, env);
    expect(entry).toMatchObject({ action: "advance", reason: "latency spike is the cold cache" });
    expect(entry!.detail).toMatchObject({ rollout: rollout.id, from_percent: 1, to_percent: 5, forced: true, decision: { action: "rollback", signal: "red" } });

    // Passing observations open the gate; the default next step after 5 is 25.
    const later = { window_start: "2026-01-01T01:00:00Z", window_end: "2026-01-01T02:00:00Z" };
    expect((await observe(t, P, env, sets[1]!, { "latency.p95_ms": 990 }, later)).status).toBe(201);
    const open = await t.request("POST", envPath(P, env, "/rollout/advance"));
    expect(await open.json()).toMatchObject({ percent: 25, state: "running" });
    expect((await history(t, P, env))[0]!.detail).toMatchObject({ forced: false, decision: { action: "advance" } });
  });

  it("in auto mode, the observation whose decision is pause pauses the rollout", async () => {
    const { env, rollout } = await rolloutEnv({ auto: true });
    const holdRes = await observeBoth(env, { "latency.p95_ms": 1000 }, { "latency.p95_ms": 1120 });
    expect(await holdRes.json()).toMatchObject({ decision: { action: "hold" }, rollout: { state: "running" } });
    const later = { window_start: "2026-01-01T01:00:00Z", window_end: "2026-01-01T02:00:00Z" };
    const res = await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1200 }, later);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; decision: { action: string }; rollout: RolloutJson };
    expect(body).toMatchObject({ decision: { action: "pause" }, rollout: { id: rollout.id, state: "paused" } });
    const [entry] = await history(t, P, env);
    expect(entry).toMatchObject({ action: "pause" });
    expect(entry!.reason).toMatch(/^auto: the gate says pause/);
    expect(entry!.detail).toMatchObject({ rollout: rollout.id, auto: true, observation: body.id });
    // Paused stays paused: a further pause-level observation changes nothing.
    const again = await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1210 }, later);
    expect((await again.json()).rollout.state).toBe("paused");
    expect((await history(t, P, env))[0]!.revision).toBe(entry!.revision);
  });

  it("in auto mode, a rollback decision aborts the rollout and everyone gets the stable set", async () => {
    const { env, rollout } = await rolloutEnv({ auto: true, allow: ["vip"] });
    const res = await observeBoth(env, { "quality.success_rate": 0.95 }, { "quality.success_rate": 0.8 });
    expect(await res.json()).toMatchObject({ decision: { action: "rollback", signal: "red" }, rollout: { state: "aborted" } });
    expect((await (await t.request("GET", envPath(P, env))).json()).rollout).toBeNull();
    const resolved = await t.request("GET", envPath(P, env, "/resolve?subject=vip"));
    expect(resolved.headers.get("x-pinset-version-set")).toBe(sets[0]);
    const [entry] = await history(t, P, env);
    expect(entry).toMatchObject({ action: "abort", version_set: sets[0] });
    expect(entry!.detail).toMatchObject({ rollout: rollout.id, auto: true });
    // Not frozen: a new rollout may start at once, acknowledging the incident the rollback opened.
    expect((await (await t.request("GET", envPath(P, env))).json()).frozen).toBe(false);
    const [incident] = (await (await t.request("GET", `/v1/projects/${P}/incidents?environment=${env}`)).json()).items;
    await expectProblem(await t.request("PUT", envPath(P, env, "/rollout"), { body: { candidate: sets[2], percent: 1 } }), 409, "incident_open");
    await startRollout(t, P, env, { candidate: sets[2], percent: 1, acknowledge_incident: incident.id });
  });

  it("in auto mode, a stop aborts and freezes: deploys, rollbacks and new rollouts answer 423 until an admin unfreezes", async () => {
    const { env, rollout } = await rolloutEnv({ auto: true });
    const res = await observeBoth(env, { "risk.injection_success": 0 }, { "risk.injection_success": 1 });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ decision: { action: "stop", signal: "black" }, rollout: { state: "aborted" } });
    const state = await (await t.request("GET", envPath(P, env))).json();
    expect(state).toMatchObject({ active: sets[0], frozen: true, rollout: null });
    const [freeze, abort] = await history(t, P, env);
    expect(abort).toMatchObject({ action: "abort", detail: expect.objectContaining({ rollout: rollout.id }) });
    expect(freeze).toMatchObject({ action: "freeze", revision: abort!.revision + 1, detail: expect.objectContaining({ rollout: rollout.id }) });

    const deployer = await createToken(t, { scopes: ["deploy"], projects: [P] });
    const before = await tableCounts(t);
    await expectProblem(await t.request("POST", envPath(P, env, "/deploy"), { body: { version_set: sets[2] } }), 423, "locked");
    await expectProblem(await t.request("POST", envPath(P, env, "/rollback"), { body: { to: sets[2] } }), 423, "locked");
    await expectProblem(await t.request("PUT", envPath(P, env, "/rollout"), { body: { candidate: sets[2], percent: 1 } }), 423, "locked");
    await expectProblem(await t.request("POST", envPath(P, env, "/unfreeze"), { token: deployer.token }), 403, "forbidden");
    expect(await tableCounts(t)).toEqual(before);

    const unfrozen = await t.request("POST", envPath(P, env, "/unfreeze"), { body: { reason: "injection fixed upstream" } });
    expect(unfrozen.status).toBe(200);
    expect(await unfrozen.json()).toMatchObject({ frozen: false, revision: freeze!.revision + 1 });
    expect((await history(t, P, env))[0]).toMatchObject({ action: "unfreeze", reason: "injection fixed upstream" });
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?limit=5`)).json();
    expect(audit.items[0]).toMatchObject({ action: "environment.unfreeze", target: `environment/${env}` });
    // Unfreezing again is a no-op: no new revision.
    expect(await (await t.request("POST", envPath(P, env, "/unfreeze"))).json()).toMatchObject({ revision: freeze!.revision + 1 });
    // The stop opened an incident: deploying another set than its stable one names it.
    const [incident] = (await (await t.request("GET", `/v1/projects/${P}/incidents?environment=${env}`)).json()).items;
    expect((await t.request("POST", envPath(P, env, "/deploy"), { body: { version_set: sets[2], acknowledge_incident: incident.id } })).status).toBe(200);
  });

  it("keeps the gate policy per environment: defaults, partial updates merged, inconsistent ones refused", async () => {
    const { env } = await rolloutEnv();
    expect(await (await t.request("GET", envPath(P, env, "/gate-policy"))).json()).toEqual(DEFAULT_GATE_POLICY);
    const before = await tableCounts(t);
    // pause looser than pass is inconsistent
    const bad = await expectProblem(await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { latency: { pass_ratio: 1.3 } } }), 422, "validation_failed");
    expect(bad.errors?.map((e) => e.path)).toContain("latency.hold_ratio");
    await expectProblem(await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { quality: { pause_drop: 0.01 } } }), 422, "validation_failed");
    await expectProblem(await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { steps: [5, 1, 100] } }), 422, "validation_failed");
    await expectProblem(await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { colour: "red" } }), 422, "validation_failed");
    expect(await tableCounts(t)).toEqual(before);

    const put = await t.request("PUT", envPath(P, env, "/gate-policy"), { body: { latency: { pass_ratio: 1.05 }, steps: [10, 100] } });
    expect(put.status).toBe(200);
    const policy = await put.json();
    expect(policy).toEqual({ ...DEFAULT_GATE_POLICY, latency: { ...DEFAULT_GATE_POLICY.latency, pass_ratio: 1.05 }, steps: [10, 100] });
    expect(await (await t.request("GET", envPath(P, env, "/gate-policy"))).json()).toEqual(policy);
    // 1.08 × baseline passed under the default; under this policy it holds.
    await observeBoth(env, { "latency.p95_ms": 1000 }, { "latency.p95_ms": 1080 });
    expect((await decision(t, P, env)).action).toBe("hold");
    // The next step comes from the policy: 1 → 10.
    const advanced = await t.request("POST", envPath(P, env, "/rollout/advance"), { body: { force: true } });
    expect((await advanced.json()).percent).toBe(10);
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?action=gate_policy.update`)).json();
    expect(audit.items).toHaveLength(1);
  });

  it("refuses bad observations with 422 (400 for malformed fields) and records nothing", async () => {
    const { env, rollout } = await rolloutEnv();
    const before = await tableCounts(t);
    const notInRollout = await expectProblem(await observe(t, P, env, sets[2]!, { "latency.p95_ms": 1 }), 422, "validation_failed");
    expect(notInRollout.errors).toEqual([expect.objectContaining({ path: "body.version_set" })]);
    await expectProblem(await observe(t, P, env, "vs_nope", { "latency.p95_ms": 1 }), 422, "validation_failed");
    for (const metrics of [
      { "quality.success_rate": 1.5 },
      { "quality.success_rate": -0.1 },
      { latency: { timeout_rate: 2 } },
      { "latency.p95_ms": -1 },
      { "latency.p95_ms": "NaN" },
      { "cost.tokens_per_request": null },
      { "risk.pii_leaks": 0.5 },
      { "quality.vibes": 1 },
      {},
      [],
    ]) {
      const problem = await expectProblem(await observe(t, P, env, sets[1]!, metrics), 422, "validation_failed");
      expect(problem.errors?.[0]?.path, JSON.stringify(metrics)).toMatch(/^body\.metrics/);
    }
    const backwards = await expectProblem(
      await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1 }, { window_start: "2026-01-02T00:00:00Z", window_end: "2026-01-01T00:00:00Z" }),
      422,
      "validation_failed",
    );
    expect(backwards.errors).toEqual([expect.objectContaining({ path: "body.window_end" })]);
    await expectProblem(await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1 }, { window_start: "yesterday" }), 400, "validation_failed");
    await expectProblem(await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1 }, { window_end: "2026-01-01T01:00:00" }), 400, "validation_failed");
    await expectProblem(await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1 }, { sample_trace_ids: ["has space"] }), 400, "validation_failed");
    const noMetrics = await t.request("POST", envPath(P, env, "/observations"), { body: { version_set: sets[1], ...{ window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T00:00:00Z" } } });
    await expectProblem(noMetrics, 400, "validation_failed");
    expect(await tableCounts(t)).toEqual(before);

    await t.request("POST", envPath(P, env, "/rollout/abort"));
    await expectProblem(await observe(t, P, env, sets[1]!, { "latency.p95_ms": 1 }), 409, "conflict");
    const list = await (await t.request("GET", envPath(P, env, "/observations"))).json();
    expect(list).toEqual({ items: [], next_cursor: null });
    expect(rollout.state).toBe("running");
  });

  it("lists observations newest first with paging, flat metrics and their sample trace ids", async () => {
    const { env, rollout } = await rolloutEnv();
    const first = await observe(t, P, env, sets[0]!, { quality: { success_rate: 0.9 } }, { sample_trace_ids: ["t-1", "t-2"] });
    expect(await first.json()).toMatchObject({ rollout_id: rollout.id, side: "stable", metrics: { "quality.success_rate": 0.9 }, sample_trace_ids: ["t-1", "t-2"] });
    await observe(t, P, env, sets[1]!, { "quality.success_rate": 0.91 });
    const page = await (await t.request("GET", envPath(P, env, "/observations?limit=1"))).json();
    expect(page.items).toEqual([expect.objectContaining({ version_set: sets[1], side: "candidate", window_start: "2026-01-01T00:00:00.000Z" })]);
    const rest = await (await t.request("GET", envPath(P, env, `/observations?limit=1&cursor=${page.next_cursor}`))).json();
    expect(rest).toEqual({ items: [expect.objectContaining({ version_set: sets[0] })], next_cursor: null });
  });
});
