/**
 * On-call's freeze (POST …/environments/{env}/freeze), on both backends: a revision and an audit
 * entry; deploys, rollbacks and new rollouts answer 423 until an admin unfreezes; degrade still
 * works; freezing twice is a no-op; refused (409) while a rollout is live; deploy scope needed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, expectProblem, history, makeSets, startRollout } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const P = "frosty";

describe.each(backends())("freezing an environment on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    sets = await makeSets(t, P, 3);
  });
  afterAll(async () => t?.close());

  const env = async (name: string) => (await (await t.request("GET", envPath(P, name))).json()) as { frozen: boolean; revision: number; active: string };

  it("freezes with a revision and an audit entry; deploys, rollbacks and rollouts answer 423; degrade works; an admin unfreezes", async () => {
    const [a, b, fallback] = sets as [string, string, string];
    await deployedEnv(t, P, "prod", a);
    expect((await t.request("POST", envPath(P, "prod", "/deploy"), { body: { version_set: b } })).status).toBe(200);
    expect((await t.request("PUT", envPath(P, "prod"), { body: { fallback } })).status).toBeLessThan(300);
    const before = await env("prod");

    const frozen = await t.request("POST", envPath(P, "prod", "/freeze"), { body: { reason: "answers leak PII" } });
    expect(frozen.status).toBe(200);
    expect(await frozen.json()).toMatchObject({ frozen: true, revision: before.revision + 1 });
    expect((await history(t, P, "prod"))[0]).toMatchObject({ action: "freeze", reason: "answers leak PII", actor: expect.any(String) });
    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?action=environment.freeze`)).json();
    expect(audit.items[0]).toMatchObject({ target: "environment/prod", after: expect.objectContaining({ frozen: true, reason: "answers leak PII" }) });

    // A second freeze changes nothing.
    const again = await t.request("POST", envPath(P, "prod", "/freeze"), { body: {} });
    expect(await again.json()).toMatchObject({ frozen: true, revision: before.revision + 1 });

    await expectProblem(await t.request("POST", envPath(P, "prod", "/deploy"), { body: { version_set: a } }), 423, "locked");
    await expectProblem(await t.request("POST", envPath(P, "prod", "/rollback"), { body: {} }), 423, "locked");
    await expectProblem(await t.request("PUT", envPath(P, "prod", "/rollout"), { body: { candidate: a, percent: 5 } }), 423, "locked");
    expect((await env("prod")).active).toBe(b);

    // Degrade still stops the loss on a frozen environment.
    expect((await t.request("POST", envPath(P, "prod", "/degrade"), { body: { reason: "serve the fallback" } })).status).toBe(200);
    expect((await env("prod")).active).toBe(fallback);

    const unfrozen = await t.request("POST", envPath(P, "prod", "/unfreeze"), { body: { reason: "fixed" } });
    expect(await unfrozen.json()).toMatchObject({ frozen: false });
  });

  it("refuses while a rollout is live (409, nothing written), and needs deploy scope", async () => {
    const [a, b] = sets as [string, string];
    await deployedEnv(t, P, "canary", a);
    await startRollout(t, P, "canary", { candidate: b, percent: 5 });
    const before = await env("canary");
    const refused = await expectProblem(await t.request("POST", envPath(P, "canary", "/freeze"), { body: {} }), 409, "conflict");
    expect(refused.detail).toMatch(/abort it/);
    expect(await env("canary")).toMatchObject({ frozen: false, revision: before.revision });

    const reader = await createToken(t, { name: "freeze-reader", scopes: ["read"], projects: [P] });
    await expectProblem(await t.request("POST", envPath(P, "canary", "/freeze"), { body: {}, token: reader.token }), 403, "forbidden");
    await expectProblem(await t.request("POST", envPath(P, "nowhere", "/freeze"), { body: {} }), 404, "not_found");
    await expectProblem(await t.request("POST", envPath(P, "canary", "/freeze"), { body: { reason: 7 } }), 400, "validation_failed");
  });
});
