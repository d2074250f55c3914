/**
 * The rollout lifecycle through HTTP: start, advance, pause, resume, abort, promote — each a
 * revision with its history entry — the rollout in the environment JSON, deploy/rollback
 * refused while a rollout lives, the bad inputs of the issue, and sticky assignment on
 * `resolve?subject=` (served from memory once cached).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignSubject } from "../../src/rollouts/assignment.js";
import {
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

const P = "canary";

describe.each(backends())("rollouts on $name", (backend) => {
  let t: TestApp;
  let sets: string[];

  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
  });
  afterAll(async () => t?.close());

  const get = async (env: string, suffix = "") => (await t.request("GET", envPath(P, env, suffix))).json();
  const post = (env: string, suffix: string, body?: unknown) => t.request("POST", envPath(P, env, suffix), body === undefined ? {} : { body });
  const passing = async (env: string) => {
    expect((await observe(t, P, env, sets[0]!, { "quality.success_rate": 0.95 })).status).toBe(201);
    expect((await observe(t, P, env, sets[1]!, { "quality.success_rate": 0.96 })).status).toBe(201);
  };

  it("runs start → advance → pause → resume → promote, one revision and history entry per step", async () => {
    await deployedEnv(t, P, "life", sets[0]!);
    const hook = await t.request("POST", `/v1/projects/${P}/webhooks`, {
      body: { url: "http://127.0.0.1:9/hook", events: ["rollout.changed"], secret: "0123456789abcdef0123" },
    });
    expect(hook.status).toBe(201);
    const startedAt = Date.now();
    const rollout = await startRollout(t, P, "life", { candidate: sets[1], percent: 1, allow: ["qa-1", "qa-2", "qa-1"] });
    expect(rollout).toMatchObject({ stable: sets[0], candidate: sets[1], percent: 1, allow: ["qa-1", "qa-2"], state: "running", auto: false, revision: 2, evidence: [] });
    expect(rollout.id).toMatch(/^ro_[0-9a-f]{24}$/);
    expect(Date.parse(rollout.created_at)).toBeGreaterThanOrEqual(startedAt - 5_000);
    expect(await get("life")).toMatchObject({ active: sets[0], revision: 2, rollout: { id: rollout.id, state: "running" } });
    // GET …/rollout adds where the step stands (the other answers carry the rollout alone).
    expect(await get("life", "/rollout")).toEqual({
      ...rollout,
      step: { percent: 1, bake_seconds: 21_600, min_samples: 500, samples: { baseline: 0, candidate: 0 } },
      step_started_at: rollout.created_at,
      bake_remaining_seconds: expect.any(Number),
      next_action: "hold",
      next_action_reason: expect.stringMatching(/^advice \(auto is off, a person acts\): baking: /),
    });

    await passing("life");
    expect(await (await post("life", "/rollout/advance")).json()).toMatchObject({ id: rollout.id, percent: 5, revision: 3 });
    expect(await (await post("life", "/rollout/advance", { percent: 12.34 })).json()).toMatchObject({ percent: 12.34, revision: 4 });
    expect(await (await post("life", "/rollout/pause", { reason: "looking at p95" })).json()).toMatchObject({ state: "paused", percent: 12.34 });
    await expectProblem(await post("life", "/rollout/pause"), 409, "conflict");
    await expectProblem(await post("life", "/rollout/advance"), 409, "conflict");
    expect(await (await post("life", "/rollout/resume")).json()).toMatchObject({ state: "running", revision: 6 });
    await expectProblem(await post("life", "/rollout/resume"), 409, "conflict");
    expect(await (await post("life", "/rollout/advance")).json()).toMatchObject({ percent: 25 });
    expect(await (await post("life", "/rollout/advance")).json()).toMatchObject({ percent: 50 });
    const promoted = (await (await post("life", "/rollout/advance", { reason: "all green" })).json()) as RolloutJson;
    expect(promoted).toMatchObject({ id: rollout.id, state: "promoted", percent: 100, revision: 9 });
    expect(promoted.ended_at).not.toBeNull();

    expect(await get("life")).toMatchObject({ active: sets[1], revision: 9, rollout: null });
    expect(await get("life", "/rollout")).toMatchObject({ id: rollout.id, state: "promoted" });
    const entries = await history(t, P, "life");
    expect(entries.map((e) => [e.revision, e.action, e.version_set])).toEqual([
      [9, "promote", sets[1]],
      [8, "advance", sets[0]],
      [7, "advance", sets[0]],
      [6, "resume", sets[0]],
      [5, "pause", sets[0]],
      [4, "advance", sets[0]],
      [3, "advance", sets[0]],
      [2, "rollout_start", sets[0]],
      [1, "deploy", sets[0]],
    ]);
    for (const entry of entries.slice(0, -1)) expect(entry.detail).toMatchObject({ rollout: rollout.id });
    expect(entries[0]).toMatchObject({ previous: sets[0], reason: "all green", detail: { from_percent: 50, to_percent: 100, forced: false } });
    expect(entries[4]).toMatchObject({ reason: "looking at p95" });

    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?limit=20`)).json();
    const rolloutAudit = audit.items.filter((a: { target: string }) => a.target === `environment/life/rollout/${rollout.id}`);
    expect(rolloutAudit.map((a: { action: string }) => a.action)).toEqual([
      "rollout.promote", "rollout.advance", "rollout.advance", "rollout.resume", "rollout.pause", "rollout.advance", "rollout.advance",
      "observation.record", "observation.record", "rollout.start",
    ]);
    // One rollout.changed event per step, written in the step's transaction.
    const outbox = await t.db.handle.db.selectFrom("webhook_outbox").select("body").where("project", "=", P).where("event", "=", "rollout.changed").orderBy("seq").execute();
    const events = outbox.map((row) => JSON.parse(row.body) as { data: { action: string; revision: number; rollout: { id: string; state: string } } });
    expect(events.map((e) => [e.data.action, e.data.revision, e.data.rollout.state])).toEqual([
      ["rollout_start", 2, "running"],
      ["advance", 3, "running"],
      ["advance", 4, "running"],
      ["pause", 5, "paused"],
      ["resume", 6, "running"],
      ["advance", 7, "running"],
      ["advance", 8, "running"],
      ["promote", 9, "promoted"],
    ]);
    expect(new Set(events.map((e) => e.data.rollout.id))).toEqual(new Set([rollout.id]));
    // Ended: nothing changes it any more; rollback now returns to the old stable set.
    await expectProblem(await post("life", "/rollout/abort"), 409, "conflict");
    await expectProblem(await post("life", "/rollout/advance", { force: true }), 409, "conflict");
    expect(await (await post("life", "/rollback")).json()).toMatchObject({ active: sets[0] });
  });

  it("aborts: state aborted, everyone back on the stable set, a new rollout may start", async () => {
    await deployedEnv(t, P, "abort", sets[0]!);
    const rollout = await startRollout(t, P, "abort", { candidate: sets[1], percent: 100, allow: ["vip"] });
    expect((await t.request("GET", envPath(P, "abort", "/resolve?subject=anyone"))).headers.get("x-pinset-assignment")).toBe("candidate");
    const aborted = await (await post("abort", "/rollout/abort", { reason: "bad answers" })).json();
    expect(aborted).toMatchObject({ id: rollout.id, state: "aborted", percent: 100 });
    expect(await get("abort")).toMatchObject({ active: sets[0], rollout: null });
    for (const subject of ["anyone", "vip"]) {
      const res = await t.request("GET", envPath(P, "abort", `/resolve?subject=${subject}`));
      expect(res.headers.get("x-pinset-version-set")).toBe(sets[0]);
      expect(res.headers.get("x-pinset-assignment")).toBeNull();
    }
    expect((await history(t, P, "abort"))[0]).toMatchObject({ action: "abort", version_set: sets[0], previous: sets[0], reason: "bad answers" });
    const next = await startRollout(t, P, "abort", { candidate: sets[2], percent: 1 });
    expect(next.id).not.toBe(rollout.id);
    expect(await get("abort", "/rollout")).toMatchObject({ id: next.id, state: "running" });
  });

  it("refuses deploy and rollback with 409 while a rollout runs or is paused", async () => {
    await deployedEnv(t, P, "busy", sets[2]!);
    await (await post("busy", "/deploy", { version_set: sets[0] })).json();
    await startRollout(t, P, "busy", { candidate: sets[1], percent: 5 });
    const before = await tableCounts(t);
    const deploy = await expectProblem(await post("busy", "/deploy", { version_set: sets[2] }), 409, "conflict");
    expect(deploy.detail).toMatch(/abort the rollout .* or promote it/);
    await expectProblem(await post("busy", "/rollback"), 409, "conflict");
    await post("busy", "/rollout/pause");
    const afterPause = await tableCounts(t);
    await expectProblem(await post("busy", "/deploy", { version_set: sets[2] }), 409, "conflict");
    expect(await tableCounts(t)).toEqual(afterPause);
    expect(afterPause.environment_history).toBe(before.environment_history! + 1);
    await post("busy", "/rollout/abort");
    expect((await post("busy", "/deploy", { version_set: sets[2] })).status).toBe(200);
  });

  it("refuses bad starts (422 percent/candidate, 409 state, 400 shape) and writes nothing", async () => {
    await t.request("PUT", envPath(P, "empty"), { body: {} });
    await deployedEnv(t, P, "bad", sets[0]!);
    const before = await tableCounts(t);
    const start = (env: string, body: unknown) => t.request("PUT", envPath(P, env, "/rollout"), { body });
    for (const percent of [0, -1, 100.01, 150, 0.001, 12.345]) {
      const problem = await expectProblem(await start("bad", { candidate: sets[1], percent }), 422, "validation_failed");
      expect(problem.errors).toEqual([expect.objectContaining({ path: "body.percent" })]);
    }
    const unknown = await expectProblem(await start("bad", { candidate: "vs_000000000000000000000000", percent: 1 }), 422, "validation_failed");
    expect(unknown.errors).toEqual([expect.objectContaining({ path: "body.candidate" })]);
    await expectProblem(await start("bad", { candidate: "not-a-set", percent: 1 }), 422, "validation_failed");
    const same = await expectProblem(await start("bad", { candidate: sets[0], percent: 1 }), 422, "validation_failed");
    expect(same.detail).toContain("already the active");
    await expectProblem(await start("empty", { candidate: sets[1], percent: 1 }), 409, "conflict");
    await expectProblem(await start("bad", { candidate: sets[1], percent: "5" }), 400, "validation_failed");
    await expectProblem(await start("bad", { candidate: sets[1] }), 400, "validation_failed");
    await expectProblem(await start("bad", { candidate: sets[1], percent: 1, extra: true }), 400, "validation_failed");
    await expectProblem(await t.request("PUT", envPath(P, "bad", "/rollout")), 400, "validation_failed");
    await expectProblem(await start("nowhere", { candidate: sets[1], percent: 1 }), 404, "not_found");
    await expectProblem(await t.request("GET", envPath(P, "bad", "/rollout")), 404, "not_found");
    await expectProblem(await t.request("GET", envPath(P, "bad", "/rollout/decision")), 404, "not_found");
    await expectProblem(await post("bad", "/rollout/advance"), 404, "not_found");
    expect(await tableCounts(t)).toEqual(before);

    await startRollout(t, P, "bad", { candidate: sets[1], percent: 10 });
    const running = await tableCounts(t);
    const twice = await expectProblem(await start("bad", { candidate: sets[2], percent: 1 }), 409, "conflict");
    expect(twice.detail).toContain("already running");
    for (const percent of [5, 10]) {
      const lower = await expectProblem(await post("bad", "/rollout/advance", { percent, force: true }), 422, "validation_failed");
      expect(lower.errors).toEqual([expect.objectContaining({ path: "body.percent" })]);
    }
    await expectProblem(await post("bad", "/rollout/advance", { percent: 101, force: true }), 422, "validation_failed");
    await expectProblem(await post("bad", "/rollout/advance", { percent: "50" }), 400, "validation_failed");
    expect(await tableCounts(t)).toEqual(running);
  });

  it("checks protected environments on every rollout change", async () => {
    await deployedEnv(t, P, "prod", sets[0]!, { protected: true });
    const pipeline = await createToken(t, { scopes: ["deploy"], projects: [P] });
    const named = await createToken(t, { scopes: ["deploy"], projects: [P], environments: ["prod"] });
    const body = { candidate: sets[1], percent: 1 };
    await expectProblem(await t.request("PUT", envPath(P, "prod", "/rollout"), { body, token: pipeline.token }), 403, "forbidden");
    expect((await t.request("PUT", envPath(P, "prod", "/rollout"), { body, token: named.token })).status).toBe(201);
    for (const [suffix, payload] of [
      ["/rollout/pause", {}],
      ["/rollout/abort", {}],
      ["/rollout/advance", { force: true }],
      ["/gate-policy", { risk: { max_events: 0 } }],
    ] as const) {
      const method = suffix === "/gate-policy" ? "PUT" : "POST";
      await expectProblem(await t.request(method, envPath(P, "prod", suffix), { body: payload, token: pipeline.token }), 403, "forbidden");
    }
    await expectProblem(await t.request("POST", envPath(P, "prod", "/observations"), {
      body: { version_set: sets[1], window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T00:00:00Z", metrics: { "latency.p95_ms": 1 } },
      token: pipeline.token,
    }), 403, "forbidden");
    expect((await t.request("POST", envPath(P, "prod", "/rollout/abort"), { token: named.token })).status).toBe(200);
  });

  it("assigns subjects stickily over resolve?subject=, as the published algorithm says, also when the percent grows", async () => {
    await deployedEnv(t, P, "sticky", sets[0]!);
    const rollout = await startRollout(t, P, "sticky", { candidate: sets[1], percent: 10, allow: ["vip"] });
    const subjects = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    const resolveAll = async () => {
      const got = new Map<string, string>();
      for (const subject of subjects) {
        const res = await t.request("GET", envPath(P, "sticky", `/resolve?subject=${subject}`));
        expect(res.status).toBe(200);
        const side = res.headers.get("x-pinset-assignment")!;
        expect(res.headers.get("x-pinset-version-set")).toBe(side === "candidate" ? sets[1] : sets[0]);
        expect(((await res.json()) as { id: string }).id).toBe(res.headers.get("x-pinset-version-set"));
        got.set(subject, side);
      }
      return got;
    };
    const at10 = await resolveAll();
    for (const subject of subjects) expect(at10.get(subject)).toBe(assignSubject({ rolloutId: rollout.id, subject, percent: 10 }));
    const onCandidate = subjects.filter((s) => at10.get(s) === "candidate");
    expect(onCandidate.length).toBeGreaterThan(10);
    expect(onCandidate.length).toBeLessThan(60);
    expect((await t.request("GET", envPath(P, "sticky", "/resolve?subject=vip"))).headers.get("x-pinset-assignment")).toBe("candidate");
    const plain = await t.request("GET", envPath(P, "sticky", "/resolve"));
    expect(plain.headers.get("x-pinset-version-set")).toBe(sets[0]);
    expect(plain.headers.get("x-pinset-assignment")).toBeNull();

    await post("sticky", "/rollout/pause");
    expect(await resolveAll()).toEqual(at10);
    await post("sticky", "/rollout/resume");
    await post("sticky", "/rollout/advance", { percent: 25, force: true });
    const at25 = await resolveAll();
    for (const subject of onCandidate) expect(at25.get(subject)).toBe("candidate");
    const grown = subjects.filter((s) => at25.get(s) === "candidate").length;
    expect(grown).toBeGreaterThan(onCandidate.length);
    for (const subject of subjects) expect(at25.get(subject)).toBe(assignSubject({ rolloutId: rollout.id, subject, percent: 25 }));
  });

  it("answers resolve?subject= from memory once the rollout is cached: no rollout or environment read per request", async () => {
    await deployedEnv(t, P, "hot", sets[0]!);
    await startRollout(t, P, "hot", { candidate: sets[1], percent: 50 });
    const { rolloutStores, environmentStore } = t.pinset.services;
    let reads = 0;
    const live = rolloutStores.rollouts.live.bind(rolloutStores.rollouts);
    const findActive = environmentStore.findActive.bind(environmentStore);
    rolloutStores.rollouts.live = (...args) => (reads++, live(...args));
    environmentStore.findActive = (...args) => (reads++, findActive(...args));
    try {
      await t.request("GET", envPath(P, "hot", "/resolve?subject=warm-up"));
      reads = 0;
      const started = Date.now();
      for (let i = 0; i < 200; i++) expect((await t.request("GET", envPath(P, "hot", `/resolve?subject=s-${i}`))).status).toBe(200);
      // The caches trust an entry for 1 s (cross-instance staleness bound): at most one re-read of each per second.
      expect(reads).toBeLessThanOrEqual(2 * (Math.floor((Date.now() - started) / 1000) + 1));
      // A change through this instance is seen at once.
      await post("hot", "/rollout/abort");
      const after = await t.request("GET", envPath(P, "hot", "/resolve?subject=s-1"));
      expect(after.headers.get("x-pinset-assignment")).toBeNull();
    } finally {
      rolloutStores.rollouts.live = live;
      environmentStore.findActive = findActive;
    }
  });
});
