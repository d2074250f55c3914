import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableCounts } from "../support/row-counts.js";
import { deployedEnv, envPath, expectProblem, history, makeSets, observe, startRollout } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const P = "inc";
const INC = `/v1/projects/${P}/incidents`;
const RED = { stable: { "quality.success_rate": 0.95 }, candidate: { "quality.success_rate": 0.8 } };

interface Incident {
  id: string;
  environment: string;
  state: string;
  severity: string;
  summary: string;
  opened_at: string;
  opened_by: string;
  rollout: string | null;
  stable: string | null;
  evidence: string[];
  sample_trace_ids: string[];
  timeline: {
    detected_at: string;
    mitigated_at: string | null;
    mitigated_by: { action: string; revision: number } | null;
    evidence_at: string | null;
    targets: { mitigate_by: string; evidence_by: string };
    met: { mitigate: boolean | null; evidence: boolean | null };
  };
  notes: Array<{ at: string; author: string; text: string }>;
  regression_set: string | null;
  closed_at: string | null;
  waived: boolean;
  waive_reason: string | null;
}

describe.each(backends())("incidents on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const p of [P, "other"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    sets = await makeSets(t, P, 4);
    const hook = await t.request("POST", `/v1/projects/${P}/webhooks`, {
      body: { url: "http://127.0.0.1:9/hook", events: ["incident.opened", "incident.mitigated", "incident.closed"], secret: "0123456789abcdef0123" },
    });
    expect(hook.status, await hook.clone().text()).toBe(201);
  });
  afterAll(async () => t?.close());

  const publishEvalset = async (name: string, cases: unknown[]) => {
    const res = await t.request("POST", `/v1/projects/${P}/artifacts/evalset/${name}`, { body: { content: { cases } } });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { version: number }).version;
  };
  const incidentsOf = async (env: string): Promise<Incident[]> => ((await (await t.request("GET", `${INC}?environment=${env}`)).json()) as { items: Incident[] }).items;
  const close = (id: string, body: unknown, token?: string) => t.request("POST", `${INC}/${id}/close`, { body, ...(token ? { token } : {}) });
  const events = async (event: string) =>
    (await t.db.handle.db.selectFrom("webhook_outbox").select("body").where("project", "=", P).where("event", "=", event).orderBy("seq").execute()).map(
      (r) => JSON.parse(r.body) as { data: { id: string; environment: string } },
    );

  it("story: a red gate rolls back → incident with timeline → close refused → evalset learns the trace → closed → rollouts again", async () => {
    const before = await publishEvalset("regression", [{ id: "greeting", input: "hello" }]);
    await deployedEnv(t, P, "prod", sets[0]!);
    const rollout = await startRollout(t, P, "prod", { candidate: sets[1], percent: 5, auto: true });
    expect((await observe(t, P, "prod", sets[0]!, RED.stable, { sample_trace_ids: ["stable-1"] })).status).toBe(201);
    const red = await observe(t, P, "prod", sets[1]!, RED.candidate, { sample_trace_ids: ["bad-trace-1", "bad-trace-2"] });
    expect(await red.json()).toMatchObject({ decision: { action: "rollback", signal: "red" }, rollout: { state: "aborted" } });

    const [incident, ...more] = await incidentsOf("prod");
    expect(more).toEqual([]);
    const abort = (await history(t, P, "prod"))[0]!;
    expect(incident).toMatchObject({
      environment: "prod",
      state: "mitigated",
      severity: "sev2",
      rollout: rollout.id,
      stable: sets[0],
      evidence: [rollout.id],
      sample_trace_ids: ["bad-trace-1", "bad-trace-2"],
      timeline: { mitigated_by: { action: "abort", revision: abort.revision }, met: { mitigate: true, evidence: true } },
      regression_set: null,
    });
    expect(incident!.id).toMatch(/^inc_[0-9a-f]{24}$/);
    expect(incident!.summary).toContain(rollout.id);
    const detected = Date.parse(incident!.timeline.detected_at);
    expect(Date.parse(incident!.timeline.targets.mitigate_by) - detected).toBe(7 * 60_000);
    expect(Date.parse(incident!.timeline.targets.evidence_by) - detected).toBe(10 * 60_000);
    expect(Date.parse(incident!.timeline.mitigated_at!)).toBeGreaterThanOrEqual(detected);
    expect(Date.parse(incident!.timeline.evidence_at!)).toBeGreaterThanOrEqual(detected);
    expect(incident!.notes[0]!.text).toMatch(/^red gate decision: rollout ro_/);
    expect((await t.request("GET", `${INC}/${incident!.id}`)).status).toBe(200);
    // The pack written for the aborted rollout names the incident.
    const pack = await (await t.request("GET", `/v1/projects/${P}/evidence/${rollout.id}`)).json();
    expect(pack.manifest).toMatchObject({ rollout: rollout.id, incident: incident!.id });
    expect((await events("incident.opened")).map((e) => e.data.id)).toContain(incident!.id);
    expect((await events("incident.mitigated")).map((e) => e.data.id)).toContain(incident!.id);

    // While it is open: no new rollout, no other set; the stable set and degrade/rollback are fine.
    const refused = await expectProblem(await t.request("PUT", envPath(P, "prod", "/rollout"), { body: { candidate: sets[2], percent: 5 } }), 409, "incident_open");
    expect(refused.detail).toContain(incident!.id);
    await expectProblem(await t.request("POST", envPath(P, "prod", "/deploy"), { body: { version_set: sets[2] } }), 409, "incident_open");

    // Closing needs the lesson.
    const counts = await tableCounts(t);
    const missing = await expectProblem(await close(incident!.id, {}), 400, "validation_failed");
    expect(missing.detail).toBeDefined();
    const old = await expectProblem(await close(incident!.id, { regression_set: `evalset/regression@${before}` }), 409, "regression_set_required");
    expect(old.detail).toMatch(/before incident inc_/);
    await expectProblem(await close(incident!.id, { regression_set: "evalset/nope@1" }), 422, "validation_failed");
    await expectProblem(await close(incident!.id, { regression_set: "config/set@1" }), 422, "validation_failed");
    await expectProblem(await close(incident!.id, { regression_set: "not a reference" }), 422, "validation_failed");
    const unrelated = await publishEvalset("regression", [{ id: "greeting", input: "hello" }, { id: "other", input: "x", source_trace_id: "someone-else" }]);
    const noTrace = await expectProblem(await close(incident!.id, { regression_set: `evalset/regression@${unrelated}` }), 409, "regression_set_required");
    expect(noTrace.detail).toContain("bad-trace-1, bad-trace-2");
    // Only the publish above was written (its row and audit entry): the refusals wrote nothing.
    expect(await tableCounts(t)).toEqual({ ...counts, artifacts: counts.artifacts! + 1, audit_log: counts.audit_log! + 1 });

    const learned = await publishEvalset("regression", [
      { id: "greeting", input: "hello" },
      { id: "refund-wrong", input: { q: "refund?" }, expect: { handoff: true }, source_trace_id: "bad-trace-2" },
    ]);
    const closed = await close(incident!.id, { regression_set: `evalset/regression@${learned}`, summary: "refund prompt regression" });
    expect(closed.status, await closed.clone().text()).toBe(200);
    expect(await closed.json()).toMatchObject({ state: "closed", regression_set: `evalset/regression@${learned}`, waived: false, closed_at: expect.any(String) });
    expect((await events("incident.closed")).map((e) => e.data.id)).toContain(incident!.id);
    await expectProblem(await close(incident!.id, { regression_set: `evalset/regression@${learned}` }), 409, "conflict");
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?target=environment/${incident!.environment}/incident/${incident!.id}`)).json();
    expect(audit.items.map((a: { action: string }) => a.action)).toEqual(["incident.close", "incident.open"]);

    await startRollout(t, P, "prod", { candidate: sets[2], percent: 5 });
  });

  it("opened by hand: one per environment, notes, acknowledged deploys recorded, a rollback mitigates, closes on an added case", async () => {
    await deployedEnv(t, P, "hand", sets[0]!);
    const reader = await createToken(t, { scopes: ["read"], projects: [P] });
    const before = await tableCounts(t);
    await expectProblem(await t.request("POST", INC, { body: { environment: "hand", severity: "sev4", summary: "x" } }), 400, "validation_failed");
    await expectProblem(await t.request("POST", INC, { body: { environment: "hand", severity: "sev2", summary: "" } }), 400, "validation_failed");
    await expectProblem(await t.request("POST", INC, { body: { environment: "ghost", severity: "sev2", summary: "x" } }), 404, "not_found");
    await expectProblem(await t.request("POST", "/v1/projects/nope/incidents", { body: { environment: "hand", severity: "sev2", summary: "x" } }), 404, "not_found");
    await expectProblem(await t.request("POST", INC, { body: { environment: "hand", severity: "sev2", summary: "x" }, token: reader.token }), 403, "forbidden");
    expect(await tableCounts(t)).toEqual(before);

    const opened = await t.request("POST", INC, { body: { environment: "hand", severity: "sev3", summary: "users report odd refunds" } });
    expect(opened.status, await opened.clone().text()).toBe(201);
    const incident = (await opened.json()) as Incident;
    expect(incident).toMatchObject({ state: "open", severity: "sev3", stable: sets[0], rollout: null, sample_trace_ids: [], timeline: { mitigated_at: null, evidence_at: null, met: { mitigate: null, evidence: null } } });
    const again = await expectProblem(await t.request("POST", INC, { body: { environment: "hand", severity: "sev1", summary: "again" } }), 409, "conflict");
    expect(again.detail).toContain(incident.id);

    const noted = await t.request("POST", `${INC}/${incident.id}/notes`, { body: { text: "looking at traces" } });
    expect(noted.status).toBe(201);
    expect(((await noted.json()) as Incident).notes).toEqual([{ at: expect.any(String), author: expect.any(String), text: "looking at traces" }]);
    await expectProblem(await t.request("POST", `${INC}/${incident.id}/notes`, { body: { text: "" } }), 400, "validation_failed");

    await expectProblem(await t.request("POST", envPath(P, "hand", "/deploy"), { body: { version_set: sets[1], acknowledge_incident: "inc_000000000000000000000000" } }), 409, "incident_open");
    const acked = await t.request("POST", envPath(P, "hand", "/deploy"), { body: { version_set: sets[1], acknowledge_incident: incident.id } });
    expect(acked.status, await acked.clone().text()).toBe(200);
    expect((await history(t, P, "hand"))[0]).toMatchObject({ action: "deploy", version_set: sets[1], detail: { acknowledged_incident: incident.id } });
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?target=environment/hand&limit=1`)).json();
    expect(audit.items[0]).toMatchObject({ action: "environment.deploy", after: { acknowledged_incident: incident.id } });

    const rolledBack = await t.request("POST", envPath(P, "hand", "/rollback"));
    expect(rolledBack.status).toBe(200);
    const mitigated = (await (await t.request("GET", `${INC}/${incident.id}`)).json()) as Incident;
    expect(mitigated).toMatchObject({ state: "mitigated", stable: sets[0], timeline: { mitigated_by: { action: "rollback" }, met: { mitigate: true } } });
    expect(mitigated.notes.map((n) => n.text)).toEqual(["looking at traces", `acknowledged: deploy of ${sets[1]}`, `mitigated: rolled back to ${sets[0]}`]);
    expect((await events("incident.mitigated")).map((e) => e.data.id)).toContain(incident.id);
    // The stable set needs no acknowledgement.
    expect((await t.request("POST", envPath(P, "hand", "/deploy"), { body: { version_set: sets[0] } })).status).toBe(200);

    // No sample trace ids: a version that adds a case counts; one that only changes a case does not.
    const v1 = await publishEvalset("hand", [{ id: "a", input: 1 }]);
    const v2 = await publishEvalset("hand", [{ id: "a", input: 2 }]);
    const changedOnly = await expectProblem(await close(incident.id, { regression_set: `evalset/hand@${v2}` }), 409, "regression_set_required");
    expect(changedOnly.detail).toMatch(/adds no case relative to version 1/);
    const v3 = await publishEvalset("hand", [{ id: "a", input: 2 }, { id: "b", input: 3 }]);
    expect((await close(incident.id, { regression_set: `evalset/hand@${v3}` })).status).toBe(200);
  });

  it("an admin may waive the regression set (recorded, audited, shown); a deploy token may not", async () => {
    await deployedEnv(t, P, "waive", sets[0]!);
    const incident = (await (await t.request("POST", INC, { body: { environment: "waive", severity: "sev3", summary: "false alarm" } })).json()) as Incident;
    const deployer = await createToken(t, { scopes: ["deploy"], projects: [P] });
    await expectProblem(await close(incident.id, { waive: true, reason: "false alarm" }, deployer.token), 403, "forbidden");
    await expectProblem(await close(incident.id, { waive: true }), 400, "validation_failed");
    const res = await close(incident.id, { waive: true, reason: "false alarm: the dashboard was wrong" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: "closed", waived: true, waive_reason: "false alarm: the dashboard was wrong", regression_set: null });
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?target=environment/${incident.environment}/incident/${incident.id}&limit=1`)).json();
    expect(audit.items[0]).toMatchObject({ action: "incident.close", after: { waived: true, reason: "false alarm: the dashboard was wrong" } });
    expect((await t.request("GET", `${INC}?state=closed&environment=waive`)).status).toBe(200);
    expect((await (await t.request("GET", `${INC}?state=closed&environment=waive`)).json()).items.map((i: Incident) => i.id)).toEqual([incident.id]);
    expect((await (await t.request("GET", `${INC}?state=open&environment=waive`)).json()).items).toEqual([]);
    await expectProblem(await t.request("GET", `${INC}?state=gone`), 400, "validation_failed");
  });

  it("unknown incident → 404, another project's → 404, a malformed id → 400", async () => {
    await expectProblem(await t.request("GET", `${INC}/inc_000000000000000000000000`), 404, "not_found");
    await deployedEnv(t, "other", "prod", (await makeSets(t, "other", 1))[0]!);
    const foreign = (await (await t.request("POST", "/v1/projects/other/incidents", { body: { environment: "prod", severity: "sev2", summary: "theirs" } })).json()) as Incident;
    await expectProblem(await t.request("GET", `${INC}/${foreign.id}`), 404, "not_found");
    await expectProblem(await close(foreign.id, { waive: true, reason: "x" }), 404, "not_found");
    await expectProblem(await t.request("GET", `${INC}/nope`), 400, "validation_failed");
  });

  it("a person aborting on a red decision opens one; on a green one it does not; a stop opens a sev1 mitigated by the freeze", async () => {
    await deployedEnv(t, P, "person", sets[0]!);
    await startRollout(t, P, "person", { candidate: sets[1], percent: 5 });
    expect((await t.request("POST", envPath(P, "person", "/rollout/abort"))).status).toBe(200);
    expect(await incidentsOf("person")).toEqual([]);
    const rollout = await startRollout(t, P, "person", { candidate: sets[1], percent: 5 });
    await observe(t, P, "person", sets[0]!, RED.stable);
    await observe(t, P, "person", sets[1]!, RED.candidate, { sample_trace_ids: ["p-1"] });
    expect((await t.request("POST", envPath(P, "person", "/rollout/abort"), { body: { reason: "red" } })).status).toBe(200);
    expect(await incidentsOf("person")).toEqual([expect.objectContaining({ rollout: rollout.id, state: "mitigated", sample_trace_ids: ["p-1"], timeline: expect.objectContaining({ mitigated_by: expect.objectContaining({ action: "abort" }) }) })]);

    await deployedEnv(t, P, "black", sets[0]!);
    const auto = await startRollout(t, P, "black", { candidate: sets[1], percent: 5, auto: true });
    await observe(t, P, "black", sets[0]!, { "risk.injection_success": 0 });
    await observe(t, P, "black", sets[1]!, { "risk.injection_success": 1 });
    const [freeze] = await history(t, P, "black");
    expect(await incidentsOf("black")).toEqual([
      expect.objectContaining({ rollout: auto.id, severity: "sev1", timeline: expect.objectContaining({ mitigated_by: { action: "freeze", revision: freeze!.revision } }) }),
    ]);
  });

  it("degrade opens one, and a second degrade (or a red gate) links to the open one", async () => {
    await deployedEnv(t, P, "deg", sets[0]!);
    expect((await t.request("PUT", envPath(P, "deg"), { body: { fallback: sets[3] } })).status).toBe(200);
    const first = await (await t.request("POST", envPath(P, "deg", "/degrade"), { body: { reason: "bad answers" } })).json();
    expect(first.incident).toMatch(/^inc_/);
    const second = await (await t.request("POST", envPath(P, "deg", "/degrade"))).json();
    expect(second.incident).toBe(first.incident);
    const [incident] = await incidentsOf("deg");
    expect(incident).toMatchObject({ id: first.incident, state: "mitigated", stable: sets[3], timeline: { mitigated_by: { action: "degrade", revision: first.revision } } });
    expect(incident!.notes.map((n) => n.text)).toEqual([`degraded to ${sets[3]} (revision ${first.revision})`, `linked: degraded to ${sets[3]} (revision ${second.revision})`]);
    // Rollback still works while it is open.
    expect((await t.request("POST", envPath(P, "deg", "/rollback"))).status).toBe(200);
  });

  it("runbook: text/markdown filled with the environment's values and the open incident; read scope; 404 for an unknown environment", async () => {
    await deployedEnv(t, P, "book", sets[0]!);
    expect((await t.request("POST", envPath(P, "book", "/deploy"), { body: { version_set: sets[1] } })).status).toBe(200);
    const reader = await createToken(t, { scopes: ["read"], projects: [P] });
    const quiet = await t.request("GET", envPath(P, "book", "/runbook"), { token: reader.token });
    expect(quiet.status).toBe(200);
    expect(quiet.headers.get("content-type")).toMatch(/^text\/markdown/);
    const calm = await quiet.text();
    expect(calm).toContain(`- Active set: \`${sets[1]}\` (revision 2)`);
    expect(calm).toMatch(/- Live since \S+, by .+ \(deploy\)/);
    expect(calm).toContain(`- Rollback target: \`${sets[0]}\``);
    expect(calm).toContain("## Open incident\n\nNone.");
    expect(calm).toContain("### Degrade (no fallback named: not available)");
    expect(calm).toContain(`pinset rollback book --to ${sets[0]} --reason`);
    expect(calm).toContain(`/v1/projects/${P}/diff?from=${sets[0]}&to=${sets[1]}`);

    expect((await t.request("PUT", envPath(P, "book"), { body: { fallback: sets[3] } })).status).toBe(200);
    const opened = (await (await t.request("POST", INC, { body: { environment: "book", severity: "sev1", summary: "checkout answers empty" } })).json()) as Incident;
    const book = await (await t.request("GET", envPath(P, "book", "/runbook"))).text();
    expect(book).toContain(`- **${opened.id}** (sev1, open): checkout answers empty`);
    expect(book).toContain(`### Degrade (to \`${sets[3]}\`)`);
    expect(book).toContain(`curl -s -X POST ${t.url}/v1/projects/${P}/environments/book/degrade`);
    expect(book).toContain(`pinset incident close ${opened.id} --regression-set evalset/regression@<version>`);
    await expectProblem(await t.request("GET", envPath(P, "ghost", "/runbook")), 404, "not_found");
  });

  it("two instances acting on one environment at once open exactly one incident", async () => {
    const peer = await startTestApp(backend, { sharedDatabaseOf: t });
    try {
      await deployedEnv(t, P, "race", sets[0]!);
      expect((await t.request("PUT", envPath(P, "race"), { body: { fallback: sets[3] } })).status).toBe(200);
      const rollout = await startRollout(t, P, "race", { candidate: sets[1], percent: 5, auto: true });
      expect((await observe(t, P, "race", sets[0]!, RED.stable)).status).toBe(201);
      const body = { version_set: sets[1], window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T01:00:00Z", metrics: RED.candidate, sample_trace_ids: ["race-1"] };
      const answers = await Promise.all([
        t.request("POST", envPath(P, "race", "/observations"), { body }),
        peer.request("POST", envPath(P, "race", "/observations"), { body }),
        t.request("POST", envPath(P, "race", "/degrade")),
        peer.request("POST", envPath(P, "race", "/degrade")),
      ]);
      for (const res of answers) expect([200, 201, 409], await res.clone().text()).toContain(res.status);
      const found = await incidentsOf("race");
      expect(found).toHaveLength(1);
      expect(found[0]!.rollout).toBe(rollout.id);
      const ids = new Set((await Promise.all(answers.slice(2).map((r) => r.json()))).map((b: { incident?: string }) => b.incident));
      expect([...ids]).toEqual([found[0]!.id]);
    } finally {
      await peer.close();
    }
  });
});
