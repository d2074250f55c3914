/**
 * A protected environment (production) takes deploys, rollbacks, rollout changes and changes of
 * its protection only from admin or from a deploy token that names it; any other deploy token
 * gets 403 and changes nothing, before conflicts or locks are even looked at.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken, type CreatedToken } from "../support/tokens.js";

describe.each(backends())("protected environments on $name", (backend) => {
  let t: TestApp;
  /** deploy on every environment of shop, naming none. */
  let anyEnv: CreatedToken;
  /** deploy naming prod. */
  let named: CreatedToken;
  /** deploy limited to staging. */
  let stagingOnly: CreatedToken;
  let v1: string;
  let v2: string;
  const env = (name: string, rest = "") => `/v1/projects/shop/environments/${name}${rest}`;
  const hasRollouts = () => t.pinset.routes.some((r) => r.method === "put" && r.path.endsWith("/environments/:env/rollout"));

  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/shop")).status).toBe(201);
    for (const [name, template] of [["a", "A {{question}}"], ["b", "B {{question}}"]] as const) {
      expect((await t.request("POST", `/v1/projects/shop/artifacts/prompt/${name}`, { body: { content: content.prompt(template) } })).status).toBe(201);
    }
    const set = async (name: string) => {
      const res = await t.request("POST", "/v1/projects/shop/version-sets", { body: { components: { "prompt.main": `prompt/${name}@1` } } });
      expect(res.status).toBe(201);
      return (await res.json()).id as string;
    };
    v1 = await set("a");
    v2 = await set("b");
    expect((await t.request("PUT", env("prod"), { body: { protected: true } })).status).toBe(201);
    expect((await t.request("PUT", env("staging"), { body: {} })).status).toBe(201);
    anyEnv = await createToken(t, { name: "ci any env", scopes: ["deploy"], projects: ["shop"] });
    named = await createToken(t, { name: "cd prod", scopes: ["deploy"], projects: ["shop"], environments: ["prod", "staging"] });
    stagingOnly = await createToken(t, { name: "ci staging", scopes: ["deploy"], projects: ["shop"], environments: ["staging"] });
  });
  afterAll(async () => t?.close());

  async function expectForbidden(res: Response) {
    expect(res.status).toBe(403);
    const problem = await res.json();
    expect(problem.code).toBe("forbidden");
    expect(problem.detail).toMatch(/prod is protected/);
  }

  it("refuses deploy and rollback by a deploy token that does not name the environment (403, nothing written)", async () => {
    const before = await tableCounts(t);
    await expectForbidden(await t.request("POST", env("prod", "/deploy"), { token: anyEnv.token, body: { version_set: v1 } }));
    // 403 wins over the compare-and-swap check: no state is revealed to a caller without the right.
    await expectForbidden(await t.request("POST", env("prod", "/deploy"), { token: anyEnv.token, body: { version_set: v1, expected_revision: 42 } }));
    await expectForbidden(await t.request("POST", env("prod", "/rollback"), { token: anyEnv.token, body: { to: v1 } }));
    expect(await tableCounts(t)).toEqual(before);
    const prod = await (await t.request("GET", env("prod"), { token: anyEnv.token })).json();
    expect(prod).toMatchObject({ active: null, revision: 0, protected: true });
  });

  it("lets the same token deploy to an unprotected environment", async () => {
    expect((await t.request("POST", env("staging", "/deploy"), { token: anyEnv.token, body: { version_set: v1 } })).status).toBe(200);
  });

  it("hides a protected environment from a token limited to others (404)", async () => {
    expect((await t.request("POST", env("prod", "/deploy"), { token: stagingOnly.token, body: { version_set: v1 } })).status).toBe(404);
    expect((await t.request("GET", env("prod"), { token: stagingOnly.token })).status).toBe(404);
  });

  it("accepts deploy and rollback from a deploy token naming the environment, and from admin", async () => {
    const first = await t.request("POST", env("prod", "/deploy"), { token: named.token, body: { version_set: v1 } });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ active: v1, revision: 1 });
    expect((await t.request("POST", env("prod", "/deploy"), { body: { version_set: v2, expected_revision: 1 } })).status).toBe(200);
    const back = await t.request("POST", env("prod", "/rollback"), { token: named.token, body: { reason: "bad answers" } });
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ active: v1, revision: 3 });
    const history = await (await t.request("GET", env("prod", "/history"))).json();
    expect(history.items.map((h: { actor: string }) => h.actor)).toEqual(["cd prod", "admin (PINSET_ADMIN_TOKEN)", "cd prod"]);
  });

  it("refuses lifting or setting protection without the same rights", async () => {
    const before = await tableCounts(t);
    await expectForbidden(await t.request("PUT", env("prod"), { token: anyEnv.token, body: { protected: false } }));
    const created = await t.request("PUT", env("prod-eu"), { token: anyEnv.token, body: { protected: true } });
    expect(created.status).toBe(403);
    expect(await tableCounts(t)).toEqual(before);
    expect((await t.request("GET", env("prod-eu"))).status).toBe(404);
    expect((await (await t.request("GET", env("prod"))).json()).protected).toBe(true);
    // Restating the current flag, or saying nothing about it, changes nothing and is allowed.
    expect((await t.request("PUT", env("prod"), { token: anyEnv.token, body: { protected: true } })).status).toBe(200);
    expect((await t.request("PUT", env("prod"), { token: anyEnv.token, body: {} })).status).toBe(200);
  });

  it("lets a token naming the environment lift and restore protection, audited", async () => {
    expect((await t.request("PUT", env("prod"), { token: named.token, body: { protected: false } })).status).toBe(200);
    expect((await t.request("POST", env("prod", "/deploy"), { token: anyEnv.token, body: { version_set: v2 } })).status).toBe(200);
    expect((await t.request("PUT", env("prod"), { body: { protected: true } })).status).toBe(200);
    await expectForbidden(await t.request("POST", env("prod", "/deploy"), { token: anyEnv.token, body: { version_set: v1 } }));
    const audit = await (await t.request("GET", "/v1/projects/shop/audit?action=environment.update")).json();
    expect(audit.items.map((e: { actor: string; after: { protected: boolean } }) => [e.actor, e.after.protected])).toEqual([
      ["admin (PINSET_ADMIN_TOKEN)", true],
      ["cd prod", false],
    ]);
  });

  it("guards rollout changes the same way", async () => {
    if (!hasRollouts()) return;
    const before = await tableCounts(t);
    await expectForbidden(await t.request("PUT", env("prod", "/rollout"), { token: anyEnv.token, body: { candidate: v1, percent: 5 } }));
    expect(await tableCounts(t)).toEqual(before);
    const started = await t.request("PUT", env("prod", "/rollout"), { token: named.token, body: { candidate: v1, percent: 5 } });
    expect(started.status).toBe(201);
    for (const step of ["pause", "resume", "abort"]) {
      await expectForbidden(await t.request("POST", env("prod", `/rollout/${step}`), { token: anyEnv.token, body: {} }));
    }
    await expectForbidden(await t.request("POST", env("prod", "/rollout/advance"), { token: anyEnv.token, body: { percent: 50, force: true, reason: "x" } }));
    expect((await t.request("POST", env("prod", "/rollout/abort"), { token: named.token, body: { reason: "done" } })).status).toBe(200);
  });
});
