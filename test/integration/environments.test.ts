import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

interface HistoryEntry {
  revision: number;
  action: string;
  version_set: string | null;
  previous: string | null;
  actor: string;
  reason: string | null;
  trace_id: string | null;
  at: string;
}

const UNKNOWN_SET = "vs_0123456789abcdef01234567";

describe.each(backends())("environments on $name", (backend) => {
  let t: TestApp;
  /** Three sets of project demo, differing in their prompt version. */
  let sets: [string, string, string];
  let otherProjectSet: string;

  const env = (name: string, suffix = "") => `/v1/projects/demo/environments/${name}${suffix}`;
  const json = async <T = Record<string, unknown>>(res: Response): Promise<T> => (await res.json()) as T;

  async function createEnv(name: string) {
    expect((await t.request("PUT", env(name))).status).toBe(201);
  }
  async function deploy(name: string, versionSet: string, extra: Record<string, unknown> = {}) {
    return t.request("POST", env(name, "/deploy"), { body: { version_set: versionSet, ...extra } });
  }
  async function history(name: string): Promise<HistoryEntry[]> {
    const res = await t.request("GET", env(name, "/history?limit=500"));
    expect(res.status).toBe(200);
    return (await json<{ items: HistoryEntry[] }>(res)).items;
  }
  async function state(name: string) {
    const res = await t.request("GET", env(name));
    expect(res.status).toBe(200);
    return json<{ active: string | null; revision: number; frozen: boolean; protected: boolean }>(res);
  }
  async function expectProblem(res: Response, status: number, code: string) {
    const body = await json<{ code: string; detail: string }>(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(body.code).toBe(code);
    return body;
  }

  beforeAll(async () => {
    t = await startTestApp(backend);
    for (const project of ["demo", "other"]) expect((await t.request("PUT", `/v1/projects/${project}`)).status).toBe(201);
    const ids: string[] = [];
    for (const text of ["v1 {{question}}", "v2 {{question}}", "v3 {{question}}"]) {
      const published = await t.request("POST", "/v1/projects/demo/artifacts/prompt/system", { body: { content: content.prompt(text) } });
      const { version } = await json<{ version: number }>(published);
      const created = await t.request("POST", "/v1/projects/demo/version-sets", { body: { components: { "prompt.system": `prompt/system@${version}` } } });
      expect(created.status).toBe(201);
      ids.push((await json<{ id: string }>(created)).id);
    }
    sets = ids as [string, string, string];
    await t.request("POST", "/v1/projects/other/artifacts/config/app", { body: { content: content.config() } });
    const other = await t.request("POST", "/v1/projects/other/version-sets", { body: { components: { cfg: "config/app@1" } } });
    otherProjectSet = (await json<{ id: string }>(other)).id;
  });
  afterAll(async () => t?.close());

  it("creates an environment once, then answers 200 and updates `protected` (audited)", async () => {
    const created = await t.request("PUT", env("staging"));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: "staging", active: null, revision: 0, protected: false, frozen: false, rollout: null });

    const again = await t.request("PUT", env("staging"));
    expect(again.status).toBe(200);
    const protectedRes = await t.request("PUT", env("staging"), { body: { protected: true } });
    expect(protectedRes.status).toBe(200);
    expect(await protectedRes.json()).toMatchObject({ protected: true, revision: 0 });
    expect((await state("staging")).protected).toBe(true);

    const audit = await json<{ items: Array<{ action: string; before: unknown; after: unknown }> }>(
      await t.request("GET", "/v1/projects/demo/audit?limit=500"),
    );
    const mine = audit.items.filter((e) => e.action === "environment.create" || e.action === "environment.update");
    expect(mine.map((e) => e.action).sort()).toEqual(["environment.create", "environment.update"]);
    expect(mine.find((e) => e.action === "environment.update")).toMatchObject({ before: { protected: false }, after: { protected: true } });
  });

  it("lists the project's environments, newest first, paginated", async () => {
    await createEnv("list-a");
    await createEnv("list-b");
    const first = await json<{ items: Array<{ name: string }>; next_cursor: string | null }>(await t.request("GET", "/v1/projects/demo/environments?limit=1"));
    expect(first.items.map((e) => e.name)).toEqual(["list-b"]);
    expect(first.next_cursor).not.toBeNull();
    const second = await json<{ items: Array<{ name: string }> }>(await t.request("GET", `/v1/projects/demo/environments?limit=1&cursor=${first.next_cursor}`));
    expect(second.items.map((e) => e.name)).toEqual(["list-a"]);
  });

  it("deploys, records history with actor, reason and trace id, and resolves the active bundle with etag and 304", async () => {
    await createEnv("prod");
    const [a, b] = sets;
    const first = await deploy("prod", a, { expected_revision: 0, reason: "first release" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ active: a, revision: 1, previous: null, changed: true });
    const second = await t.request("POST", env("prod", "/deploy"), { body: { version_set: b }, headers: { "x-trace-id": "trace-deploy-b" } });
    expect(await second.json()).toEqual({ active: b, revision: 2, previous: a, changed: true });

    expect(await state("prod")).toMatchObject({ active: b, revision: 2 });
    const entries = await history("prod");
    expect(entries).toEqual([
      expect.objectContaining({ revision: 2, action: "deploy", version_set: b, previous: a, trace_id: "trace-deploy-b", reason: null }),
      expect.objectContaining({ revision: 1, action: "deploy", version_set: a, previous: null, reason: "first release" }),
    ]);
    expect(entries[0]!.actor).toEqual(expect.any(String));
    expect(Date.parse(entries[0]!.at)).toBeGreaterThanOrEqual(Date.parse(entries[1]!.at));

    const resolved = await t.request("GET", env("prod", "/resolve"));
    expect(resolved.status).toBe(200);
    expect(resolved.headers.get("etag")).toBe(`"${b}"`);
    expect(resolved.headers.get("x-pinset-version-set")).toBe(b);
    expect(resolved.headers.get("x-pinset-assignment")).toBeNull();
    const bundle = await json<{ id: string; components: Record<string, { content: unknown }> }>(resolved);
    expect(bundle.id).toBe(b);
    expect(bundle.components["prompt.system"]!.content).toEqual(content.prompt("v2 {{question}}"));

    const notModified = await t.request("GET", env("prod", "/resolve"), { headers: { "if-none-match": `"${b}"` } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(`"${b}"`);
    expect(await notModified.text()).toBe("");
    const changed = await t.request("GET", env("prod", "/resolve"), { headers: { "if-none-match": `"${a}"` } });
    expect(changed.status).toBe(200);

    const audit = await json<{ items: Array<{ action: string; target: string; after: { active: string } }> }>(
      await t.request("GET", "/v1/projects/demo/audit?action=environment.deploy&limit=500"),
    );
    expect(audit.items.filter((e) => e.target === "environment/prod").map((e) => e.after.active)).toEqual([b, a]);
  });

  it("resolves the new set right after a deploy on this instance (the cache is invalidated)", async () => {
    await createEnv("cached");
    const [a, b] = sets;
    await deploy("cached", a);
    expect((await t.request("GET", env("cached", "/resolve"))).headers.get("x-pinset-version-set")).toBe(a);
    await deploy("cached", b);
    expect((await t.request("GET", env("cached", "/resolve"))).headers.get("x-pinset-version-set")).toBe(b);
    await t.request("POST", env("cached", "/rollback"));
    expect((await t.request("GET", env("cached", "/resolve"))).headers.get("x-pinset-version-set")).toBe(a);
  });

  it("resolves ?at= from the history timestamps, 404 before the first deploy, 400 for a malformed time", async () => {
    await createEnv("timeline");
    const [a, b] = sets;
    await deploy("timeline", a);
    await new Promise((r) => setTimeout(r, 5));
    await deploy("timeline", b);
    const [second, first] = await history("timeline");
    const at = async (time: string) => t.request("GET", env("timeline", `/resolve?at=${encodeURIComponent(time)}`));

    expect((await at(first!.at)).headers.get("x-pinset-version-set")).toBe(a);
    const between = new Date((Date.parse(first!.at) + Date.parse(second!.at)) / 2).toISOString();
    if (between !== second!.at) expect((await at(between)).headers.get("x-pinset-version-set")).toBe(a);
    expect((await at(second!.at)).headers.get("x-pinset-version-set")).toBe(b);
    const offset = await at(new Date(Date.parse(second!.at) + 3_600_000).toISOString().replace("Z", "+01:00"));
    expect(offset.headers.get("x-pinset-version-set")).toBe(b);
    const bundle = await json<{ id: string }>(await at(first!.at));
    expect(bundle.id).toBe(a);

    const before = await expectProblem(await at("2000-01-01T00:00:00Z"), 404, "not_found");
    expect(before.detail).toContain("had no active version set at 2000-01-01T00:00:00.000Z");
    for (const bad of ["yesterday", "2024-02-30T00:00:00Z", "2024-05-01T12:00:00", "1714566600"]) {
      await expectProblem(await at(bad), 400, "validation_failed");
    }
    await expectProblem(await t.request("GET", env("timeline", `/resolve?at=${encodeURIComponent(first!.at)}&subject=u1`)), 400, "validation_failed");
  });

  it("rolls back one distinct set per call (no ping-pong), 409 when none is left, and to an explicit `to`", async () => {
    await createEnv("rb");
    const [a, b, c] = sets;
    await deploy("rb", a);
    await deploy("rb", b);
    await deploy("rb", c);
    await deploy("rb", c); // a redeploy of the active set changes nothing, so it is no step back either

    const first = await t.request("POST", env("rb", "/rollback"), { body: { reason: "c is broken" } });
    expect(await first.json()).toEqual({ active: b, revision: 4, previous: c, changed: true });
    const second = await t.request("POST", env("rb", "/rollback"));
    expect(await second.json()).toEqual({ active: a, revision: 5, previous: b, changed: true });
    const none = await expectProblem(await t.request("POST", env("rb", "/rollback")), 409, "conflict");
    expect(none.detail).toContain("no earlier version set");
    expect((await state("rb")).revision).toBe(5);

    const to = await t.request("POST", env("rb", "/rollback"), { body: { to: c, expected_revision: 5 } });
    expect(await to.json()).toEqual({ active: c, revision: 6, previous: a, changed: true });
    const entries = await history("rb");
    expect(entries.slice(0, 4).map((e) => [e.action, e.version_set, e.reason])).toEqual([
      ["rollback", c, null],
      ["rollback", a, null],
      ["rollback", b, "c is broken"],
      ["deploy", c, null],
    ]);

    await expectProblem(await t.request("POST", env("rb", "/rollback"), { body: { expected_revision: 5 } }), 409, "conflict");
    await expectProblem(await t.request("POST", env("rb", "/rollback"), { body: { to: UNKNOWN_SET } }), 422, "validation_failed");
    await expectProblem(await t.request("POST", env("rb", "/rollback"), { body: { to: otherProjectSet } }), 422, "validation_failed");
    await expectProblem(await t.request("POST", env("rb", "/rollback"), { body: { to: "vs_nope" } }), 400, "validation_failed");
    expect((await history("rb")).length).toBe(6);
  });

  it("answers a deploy of the already active set with 200 changed:false and writes nothing: no revision, history, audit or webhook", async () => {
    await createEnv("redeploy");
    const [a, b] = sets;
    expect((await t.request("POST", "/v1/projects/demo/webhooks", { body: { url: "http://127.0.0.1:9/hook", events: ["environment.changed"], secret: "0123456789abcdef" } })).status).toBe(201);
    const first = await deploy("redeploy", a);
    expect(await first.json()).toEqual({ active: a, revision: 1, previous: null, changed: true });
    const before = await tableCounts(t);
    const again = await deploy("redeploy", a, { reason: "restart" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ active: a, revision: 1, previous: a, changed: false });
    // Also with a matching compare-and-swap revision.
    expect(await json(await deploy("redeploy", a, { expected_revision: 1 }))).toEqual({ active: a, revision: 1, previous: a, changed: false });
    // audit_log, environment_history, webhook_outbox, environments: all as they were.
    expect(await tableCounts(t)).toEqual(before);
    expect(await state("redeploy")).toMatchObject({ active: a, revision: 1 });
    expect((await history("redeploy")).map((e) => e.revision)).toEqual([1]);

    // The checks still come first: a stale revision is a conflict even when nothing would change.
    await expectProblem(await deploy("redeploy", a, { expected_revision: 0 }), 409, "conflict");
    const next = await deploy("redeploy", b);
    expect(await next.json()).toEqual({ active: b, revision: 2, previous: a, changed: true });
  });

  it("refuses a stale expected_revision with 409 and changes nothing", async () => {
    await createEnv("cas");
    const [a, b] = sets;
    await deploy("cas", a);
    const before = await tableCounts(t);
    const stale = await expectProblem(await deploy("cas", b, { expected_revision: 0 }), 409, "conflict");
    expect(stale.detail).toContain("revision 1");
    expect(await tableCounts(t)).toEqual(before);
    expect(await state("cas")).toMatchObject({ active: a, revision: 1 });
    expect((await deploy("cas", b, { expected_revision: 1 })).status).toBe(200);
  });

  it("answers 423 for deploy and rollback while frozen, writing nothing", async () => {
    await createEnv("frozen");
    const [a, b] = sets;
    await deploy("frozen", a);
    await deploy("frozen", b);
    // No unfreeze/freeze endpoint yet (rollouts): freeze the row directly.
    await t.db.handle.db.updateTable("environments").set({ frozen: true }).where("project", "=", "demo").where("name", "=", "frozen").execute();
    const before = await tableCounts(t);
    await expectProblem(await deploy("frozen", a), 423, "locked");
    await expectProblem(await deploy("frozen", b), 423, "locked"); // even the active set: the freeze is checked first
    await expectProblem(await t.request("POST", env("frozen", "/rollback")), 423, "locked");
    expect(await tableCounts(t)).toEqual(before);
    expect(await state("frozen")).toMatchObject({ active: b, revision: 2, frozen: true });
  });

  it("answers 404 with a clear detail when nothing is active, and for unknown environments and projects", async () => {
    await createEnv("empty");
    const empty = await expectProblem(await t.request("GET", env("empty", "/resolve")), 404, "not_found");
    expect(empty.detail).toContain("no active version set");
    expect((await expectProblem(await t.request("GET", env("nope")), 404, "not_found")).detail).toContain("Environment nope");
    expect((await expectProblem(await t.request("GET", "/v1/projects/ghost/environments/prod"), 404, "not_found")).detail).toContain("Project ghost");
    for (const suffix of ["/resolve", "/history"]) await expectProblem(await t.request("GET", env("nope", suffix)), 404, "not_found");
    await expectProblem(await deploy("nope", sets[0]), 404, "not_found");
    await expectProblem(await t.request("POST", env("nope", "/rollback")), 404, "not_found");
    await expectProblem(await t.request("PUT", "/v1/projects/ghost/environments/prod"), 404, "not_found");
    await expectProblem(await t.request("GET", "/v1/projects/ghost/environments"), 404, "not_found");
  });

  it("answers 404 for a missing environment or project before judging the named set (422)", async () => {
    expect((await expectProblem(await deploy("nope", UNKNOWN_SET), 404, "not_found")).detail).toContain("Environment nope");
    expect((await expectProblem(await t.request("POST", env("nope", "/rollback"), { body: { to: UNKNOWN_SET } }), 404, "not_found")).detail).toContain("Environment nope");
    const ghost = await t.request("POST", "/v1/projects/ghost/environments/prod/deploy", { body: { version_set: UNKNOWN_SET } });
    expect((await expectProblem(ghost, 404, "not_found")).detail).toContain("Project ghost");
  });

  it("answers 400 for malformed ids, revisions, bodies and names, and 422 for sets that are not in the project", async () => {
    await createEnv("input");
    const before = await tableCounts(t);
    const bad: Array<[unknown, number]> = [
      [{ version_set: "vs_short" }, 400],
      [{ version_set: sets[0].toUpperCase() }, 400],
      [{ version_set: 42 }, 400],
      [{}, 400],
      [{ version_set: sets[0], expected_revision: -1 }, 400],
      [{ version_set: sets[0], expected_revision: 1.5 }, 400],
      [{ version_set: sets[0], expected_revision: "0" }, 400],
      [{ version_set: sets[0], reason: 7 }, 400],
      [{ version_set: sets[0], surprise: true }, 400],
      [{ version_set: UNKNOWN_SET }, 422],
      [{ version_set: otherProjectSet }, 422],
    ];
    for (const [body, status] of bad) {
      const res = await t.request("POST", env("input", "/deploy"), { body });
      await expectProblem(res, status, "validation_failed");
    }
    await expectProblem(await t.request("POST", env("input", "/deploy")), 400, "validation_failed");
    await expectProblem(await t.request("POST", env("input", "/deploy"), { raw: "{nope", headers: { "content-type": "application/json" } }), 400, "malformed_json");
    await expectProblem(await t.request("POST", env("input", "/rollback"), { body: { expected_revision: "x" } }), 400, "validation_failed");
    await expectProblem(await t.request("PUT", env("input"), { body: { protected: "yes" } }), 400, "validation_failed");
    await expectProblem(await t.request("PUT", env("Bad_Name")), 400, "validation_failed");
    await expectProblem(await t.request("GET", env("input", "/history?cursor=garbage")), 400, "validation_failed");
    await expectProblem(await t.request("GET", env("input", "/history?limit=0")), 400, "validation_failed");
    await expectProblem(await t.request("GET", env("input", "/resolve?subject=")), 400, "validation_failed");
    expect(await tableCounts(t)).toEqual(before);
  });

  it("serves the stable set for a subject and says nothing about assignment while no rollout runs", async () => {
    await createEnv("subject");
    await deploy("subject", sets[1]);
    const res = await t.request("GET", env("subject", "/resolve?subject=tenant-42"));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-pinset-version-set")).toBe(sets[1]);
    expect(res.headers.get("x-pinset-assignment")).toBeNull();
  });

  it("needs deploy scope to change an environment and read scope to see it", async () => {
    await createEnv("scoped");
    await deploy("scoped", sets[0]);
    const reader = await createToken(t, { scopes: ["read"], projects: ["demo"] });
    const deployer = await createToken(t, { scopes: ["deploy"], projects: ["demo"] });
    await expectProblem(await t.request("POST", env("scoped", "/deploy"), { body: { version_set: sets[1] }, token: reader.token }), 403, "forbidden");
    await expectProblem(await t.request("POST", env("scoped", "/rollback"), { token: reader.token }), 403, "forbidden");
    await expectProblem(await t.request("PUT", env("scoped-2"), { token: reader.token }), 403, "forbidden");
    for (const suffix of ["", "/history", "/resolve"]) expect((await t.request("GET", env("scoped", suffix), { token: reader.token })).status).toBe(200);
    expect((await t.request("POST", env("scoped", "/deploy"), { body: { version_set: sets[1] }, token: deployer.token })).status).toBe(200);
    expect((await t.request("PUT", env("scoped-2"), { token: deployer.token })).status).toBe(201);
    expect((await history("scoped"))[0]!.actor).not.toBe((await history("scoped"))[1]!.actor);
    await expectProblem(await t.request("GET", env("scoped"), { token: null }), 401, "unauthorized");
  });

  it("keeps the pointer and the newest history entry in agreement after a mixed sequence", async () => {
    await createEnv("mixed");
    const [a, b, c] = sets;
    const steps: Array<() => Promise<Response>> = [
      () => deploy("mixed", a),
      () => deploy("mixed", b),
      () => deploy("mixed", b, { expected_revision: 0 }), // refused
      () => t.request("POST", env("mixed", "/rollback")),
      () => deploy("mixed", c),
      () => t.request("POST", env("mixed", "/rollback"), { body: { to: b } }),
      () => deploy("mixed", UNKNOWN_SET), // refused
      () => t.request("POST", env("mixed", "/rollback")),
    ];
    for (const step of steps) {
      await step();
      const current = await state("mixed");
      const newest = (await history("mixed"))[0]!;
      expect({ active: current.active, revision: current.revision }).toEqual({ active: newest.version_set, revision: newest.revision });
    }
    const entries = await history("mixed");
    expect(entries.map((e) => e.revision)).toEqual([6, 5, 4, 3, 2, 1]);
    // Each entry's `previous` is the set the entry before it left active.
    for (let i = 0; i < entries.length - 1; i++) expect(entries[i]!.previous).toBe(entries[i + 1]!.version_set);
  });

  it("pages the history newest first", async () => {
    await createEnv("paged");
    for (const set of sets) await deploy("paged", set);
    const first = await json<{ items: HistoryEntry[]; next_cursor: string }>(await t.request("GET", env("paged", "/history?limit=2")));
    expect(first.items.map((e) => e.revision)).toEqual([3, 2]);
    const rest = await json<{ items: HistoryEntry[]; next_cursor: string | null }>(await t.request("GET", env("paged", `/history?limit=2&cursor=${first.next_cursor}`)));
    expect(rest.items.map((e) => e.revision)).toEqual([1]);
    expect(rest.next_cursor).toBeNull();
  });
});
