import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableCounts } from "../support/row-counts.js";
import { deployedEnv, envPath, expectProblem, history, makeSets, observe, startRollout, type RolloutJson } from "../support/rollouts.js";
import { SseClient } from "../support/sse-client.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const P = "degrade";

describe.each(backends())("fallback and degrade on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    expect((await t.request("PUT", "/v1/projects/elsewhere")).status).toBe(201);
    sets = await makeSets(t, P, 3);
    const hook = await t.request("POST", `/v1/projects/${P}/webhooks`, {
      body: { url: "http://127.0.0.1:9/hook", events: ["environment.changed"], secret: "0123456789abcdef0123" },
    });
    expect(hook.status).toBe(201);
  });
  afterAll(async () => t?.close());

  const setFallback = (env: string, fallback: string | null) => t.request("PUT", envPath(P, env), { body: { fallback } });

  it("names a fallback (shown in the environment, audited), refuses an unknown set with 422, lifts it with null", async () => {
    await deployedEnv(t, P, "fb", sets[0]!);
    const before = await tableCounts(t);
    const bad = await expectProblem(await setFallback("fb", "vs_000000000000000000000000"), 422, "validation_failed");
    expect(bad.errors).toEqual([{ path: "body.fallback", message: "no such version set in this project" }]);
    await expectProblem(await setFallback("fb", "not-a-set"), 400, "validation_failed");
    expect(await tableCounts(t)).toEqual(before);

    const set = await setFallback("fb", sets[2]!);
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ name: "fb", active: sets[0], fallback: sets[2] });
    expect(await (await t.request("GET", envPath(P, "fb"))).json()).toMatchObject({ fallback: sets[2], revision: 1 });
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?limit=1`)).json();
    expect(audit.items[0]).toMatchObject({ action: "environment.update", target: "environment/fb", before: { fallback: null }, after: { fallback: sets[2] } });

    const lifted = await setFallback("fb", null);
    expect(await lifted.json()).toMatchObject({ fallback: null });
    await expectProblem(await t.request("POST", envPath(P, "fb", "/degrade")), 409, "conflict");
  });

  it("answers 409 when no fallback is named, 404 for an unknown environment, 403 for a read token; nothing written", async () => {
    await deployedEnv(t, P, "nofb", sets[0]!);
    const reader = await createToken(t, { scopes: ["read"], projects: [P] });
    const before = await tableCounts(t);
    const none = await expectProblem(await t.request("POST", envPath(P, "nofb", "/degrade"), { body: { reason: "quality" } }), 409, "conflict");
    expect(none.detail).toMatch(/no fallback version set/);
    await expectProblem(await t.request("POST", envPath(P, "ghost", "/degrade")), 404, "not_found");
    await expectProblem(await t.request("POST", envPath(P, "nofb", "/degrade"), { token: reader.token }), 403, "forbidden");
    await expectProblem(await t.request("POST", envPath(P, "nofb", "/degrade"), { body: { reason: 5 } }), 400, "validation_failed");
    expect(await tableCounts(t)).toEqual(before);
  });

  it("switches to the fallback in one revision: history degrade, audit, webhook, watch", async () => {
    await deployedEnv(t, P, "live", sets[0]!);
    expect((await setFallback("live", sets[2]!)).status).toBe(200);
    const watcher = await SseClient.connect(`${t.url}${envPath(P, "live", "/watch")}`);
    try {
      await watcher.next();
      const res = await t.request("POST", envPath(P, "live", "/degrade"), { body: { reason: "answers wrong since 10:02" } });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toMatchObject({ active: sets[2], previous: sets[0], revision: 2, changed: true, aborted_rollout: null });
      const event = await watcher.next();
      expect(JSON.parse(event.data)).toMatchObject({ active: sets[2], revision: 2 });
    } finally {
      watcher.close();
    }
    const [entry] = await history(t, P, "live");
    expect(entry).toMatchObject({ action: "degrade", version_set: sets[2], previous: sets[0], reason: "answers wrong since 10:02", detail: { fallback: sets[2] } });
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?target=environment/live`)).json();
    expect(audit.items[0]).toMatchObject({ action: "environment.degrade", before: { active: sets[0], revision: 1 }, after: { active: sets[2], revision: 2 } });
    const outbox = await t.db.handle.db.selectFrom("webhook_outbox").select("body").where("project", "=", P).where("event", "=", "environment.changed").orderBy("seq", "desc").limit(1).execute();
    expect(JSON.parse(outbox[0]!.body)).toMatchObject({ data: { action: "degrade", environment: "live", active: sets[2], revision: 2 } });
    const resolved = await t.request("GET", envPath(P, "live", "/resolve"));
    expect(resolved.headers.get("x-pinset-version-set")).toBe(sets[2]);
  });

  it("aborts a running rollout first (its evidence pack is written), and works on a frozen environment", async () => {
    await deployedEnv(t, P, "ro", sets[0]!);
    expect((await setFallback("ro", sets[2]!)).status).toBe(200);
    const rollout = await startRollout(t, P, "ro", { candidate: sets[1], percent: 10 });
    const res = await t.request("POST", envPath(P, "ro", "/degrade"));
    expect(res.status, await res.clone().text()).toBe(200);
    const result = (await res.json()) as { incident: string };
    expect(result).toMatchObject({ active: sets[2], aborted_rollout: rollout.id, incident: expect.stringMatching(/^inc_/) });
    const [degraded, aborted] = await history(t, P, "ro");
    expect(aborted).toMatchObject({ action: "abort", detail: expect.objectContaining({ rollout: rollout.id, degrade: true }) });
    expect(degraded).toMatchObject({ action: "degrade", revision: aborted!.revision + 1, detail: { fallback: sets[2], rollout: rollout.id } });
    const after = (await (await t.request("GET", envPath(P, "ro", "/rollout"))).json()) as RolloutJson;
    expect(after).toMatchObject({ state: "aborted", evidence: [rollout.id] });

    // A stop freezes the environment; degrade still switches (deploy answers 423).
    // The degrade opened an incident: a new rollout names it.
    const auto = await startRollout(t, P, "ro", { candidate: sets[1], percent: 10, auto: true, acknowledge_incident: result.incident });
    expect((await observe(t, P, "ro", sets[2]!, { "risk.injection_success": 0 })).status).toBe(201);
    const stop = await observe(t, P, "ro", sets[1]!, { "risk.injection_success": 1 });
    expect(await stop.json()).toMatchObject({ decision: { action: "stop" }, rollout: { id: auto.id, state: "aborted" } });
    expect(await (await t.request("GET", envPath(P, "ro"))).json()).toMatchObject({ frozen: true });
    await expectProblem(await t.request("POST", envPath(P, "ro", "/deploy"), { body: { version_set: sets[0] } }), 423, "locked");
    const frozen = await t.request("POST", envPath(P, "ro", "/degrade"), { body: { reason: "frozen, still degrade" } });
    expect(frozen.status, await frozen.clone().text()).toBe(200);
    expect(await frozen.json()).toMatchObject({ active: sets[2], previous: sets[2], aborted_rollout: null });
    expect((await history(t, P, "ro"))[0]).toMatchObject({ action: "degrade", reason: "frozen, still degrade" });
    expect(await (await t.request("GET", envPath(P, "ro"))).json()).toMatchObject({ frozen: true, active: sets[2] });
  });

  it("needs admin or a deploy token naming a protected environment; a fallback of another project is refused", async () => {
    await deployedEnv(t, P, "prot", sets[0]!, { protected: true });
    expect((await setFallback("prot", sets[2]!)).status).toBe(200);
    const deployer = await createToken(t, { scopes: ["deploy"], projects: [P] });
    await expectProblem(await t.request("POST", envPath(P, "prot", "/degrade"), { token: deployer.token }), 403, "forbidden");
    await expectProblem(await t.request("PUT", envPath(P, "prot"), { body: { fallback: null }, token: deployer.token }), 403, "forbidden");
    const named = await createToken(t, { scopes: ["deploy"], projects: [P], environments: ["prot"] });
    expect((await t.request("POST", envPath(P, "prot", "/degrade"), { token: named.token })).status).toBe(200);
    const [other] = await makeSets(t, "elsewhere", 1, "other");
    await expectProblem(await setFallback("prot", other!), 422, "validation_failed");
  });
});
