import { describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/principal.js";
import type { RolloutHooks } from "../../src/environments/ports.js";
import { actor, fakeEnvironments } from "../support/environment-fakes.js";

const A = "vs_aaaaaaaaaaaaaaaaaaaaaaaa";
const B = "vs_bbbbbbbbbbbbbbbbbbbbbbbb";
const C = "vs_cccccccccccccccccccccccc";
const key = { project: "p", environment: "prod" };

const principal = (scopes: Array<"read" | "deploy" | "admin">, environments?: string[]): Principal => ({
  tokenId: "tok_1",
  name: "ci",
  scopes: new Set(scopes),
  projects: "*",
  ...(environments ? { environments: new Set(environments) } : {}),
});
const admin = principal(["admin"]);
const deployer = principal(["deploy"]);

async function build(options: { rollouts?: RolloutHooks } = {}) {
  const s = fakeEnvironments(options);
  await s.projects.ensure(actor, "p", null);
  for (const id of [A, B, C]) s.sets.add(id);
  await s.environments.ensure(actor, key, { principal: admin });
  s.events().length = 0;
  return s;
}

const actions = async (s: Awaited<ReturnType<typeof build>>) => (await s.audit.list({ project: "p", limit: 100 })).map((e) => e.action).reverse();

describe("EnvironmentService (memory stores)", () => {
  it("creates an environment once (audited), 404s for a missing project", async () => {
    const s = await build();
    const again = await s.environments.ensure(actor, key, { principal: admin });
    expect(again).toMatchObject({ created: false, environment: { name: "prod", active: null, revision: 0, protected: false } });
    expect(await actions(s)).toEqual(["project.create", "environment.create"]);
    await expect(s.environments.ensure(actor, { project: "nope", environment: "prod" }, { principal: admin })).rejects.toMatchObject({ status: 404 });
    await expect(s.environments.get({ project: "nope", environment: "prod" })).rejects.toThrow(/Project nope not found/);
    await expect(s.environments.get({ project: "p", environment: "nope" })).rejects.toThrow(/Environment nope of project p not found/);
  });

  it("refuses protecting an environment without deploy rights to it, writing nothing", async () => {
    const s = await build();
    await expect(s.environments.ensure(actor, key, { protected: true, principal: deployer })).rejects.toMatchObject({ status: 403 });
    await expect(s.environments.ensure(actor, { project: "p", environment: "new" }, { protected: true, principal: deployer })).rejects.toMatchObject({ status: 403 });
    expect((await s.environments.get(key)).protected).toBe(false);
    await expect(s.environments.get({ project: "p", environment: "new" })).rejects.toMatchObject({ status: 404 });
    expect(await actions(s)).toEqual(["project.create", "environment.create"]);
    const ok = await s.environments.ensure(actor, key, { protected: true, principal: principal(["deploy"], ["prod"]) });
    expect(ok.environment.protected).toBe(true);
    expect(await actions(s)).toEqual(["project.create", "environment.create", "environment.update"]);
  });

  it("names a fallback only when the set exists (422), audited when it changes", async () => {
    const s = await build();
    await expect(s.environments.ensure(actor, key, { fallback: "vs_000000000000000000000000", principal: admin })).rejects.toMatchObject({ status: 422 });
    expect((await s.environments.ensure(actor, key, { fallback: B, principal: admin })).environment.fallback).toBe(B);
    await s.environments.ensure(actor, key, { fallback: B, principal: admin });
    expect(await actions(s)).toEqual(["project.create", "environment.create", "environment.update"]);
  });

  it("lists the environments a token may see, 404 for a missing project", async () => {
    const s = await build();
    await s.environments.ensure(actor, { project: "p", environment: "staging" }, { principal: admin });
    expect((await s.environments.list(admin, "p", { limit: 10 })).items.map((e) => e.name)).toEqual(["staging", "prod"]);
    expect((await s.environments.list(principal(["read"], ["staging"]), "p", { limit: 10 })).items.map((e) => e.name)).toEqual(["staging"]);
    const first = await s.environments.list(admin, "p", { limit: 1 });
    expect(first.next_cursor).toBeTruthy();
    expect((await s.environments.list(admin, "p", { limit: 1, cursor: first.next_cursor! })).items.map((e) => e.name)).toEqual(["prod"]);
    await expect(s.environments.list(admin, "nope", { limit: 10 })).rejects.toMatchObject({ status: 404 });
  });

  it("deploys: one revision with its history entry, audit entry, announcement and webhook event", async () => {
    const s = await build();
    const result = await s.environments.deploy(actor, key, { versionSet: A, principal: deployer, reason: "ship" });
    expect(result).toEqual({ active: A, revision: 1, previous: null, changed: true });
    expect((await s.environments.get(key))).toMatchObject({ active: A, revision: 1 });
    const history = await s.environments.history(key, { limit: 10 });
    expect(history.items).toEqual([expect.objectContaining({ revision: 1, action: "deploy", version_set: A, previous: null, actor: "ci", reason: "ship" })]);
    expect(await actions(s)).toEqual(["project.create", "environment.create", "environment.deploy"]);
    expect(s.events()).toEqual([{ project: "p", event: "environment.changed", data: expect.objectContaining({ revision: 1, active: A, action: "deploy", reason: "ship" }) }]);
    expect(JSON.parse(s.memory.announced().at(-1)!)).toMatchObject({ project: "p", environment: "prod", revision: 1, active: A, state: { active: A, rollout: null } });
  });

  it("answers changed: false for the set already active, writing nothing", async () => {
    const s = await build();
    await s.environments.deploy(actor, key, { versionSet: A, principal: deployer });
    const before = { audit: await actions(s), events: s.events().length, announced: s.memory.announced().length };
    expect(await s.environments.deploy(actor, key, { versionSet: A, principal: deployer })).toEqual({ active: A, revision: 1, previous: A, changed: false });
    expect({ audit: await actions(s), events: s.events().length, announced: s.memory.announced().length }).toEqual(before);
  });

  it("refuses a deploy: 404 environment, 422 set, 409 revision, 423 frozen, 410 retired, 403 protected", async () => {
    const s = await build();
    await expect(s.environments.deploy(actor, { project: "p", environment: "nope" }, { versionSet: "vs_000000000000000000000000", principal: deployer })).rejects.toMatchObject({ status: 404 });
    await expect(s.environments.deploy(actor, key, { versionSet: "vs_000000000000000000000000", principal: deployer })).rejects.toMatchObject({ status: 422 });
    await s.environments.deploy(actor, key, { versionSet: A, principal: deployer });
    await expect(s.environments.deploy(actor, key, { versionSet: B, principal: deployer, expectedRevision: 0 })).rejects.toMatchObject({ status: 409 });
    s.retired.add(B);
    await expect(s.environments.deploy(actor, key, { versionSet: B, principal: deployer })).rejects.toMatchObject({ status: 410 });
    await s.tables.run((tx) => s.memory.writeRevision(tx, key, { revision: 2, active: A, previous: A, frozen: true, action: "freeze", actor: "ci", actor_token_id: null, reason: null, trace_id: null }));
    await expect(s.environments.deploy(actor, key, { versionSet: C, principal: deployer })).rejects.toMatchObject({ status: 423 });
    await s.environments.ensure(actor, { project: "p", environment: "prod-eu" }, { protected: true, principal: admin });
    await expect(s.environments.deploy(actor, { project: "p", environment: "prod-eu" }, { versionSet: C, principal: deployer })).rejects.toMatchObject({ status: 403 });
    expect((await s.environments.history(key, { limit: 10 })).items.map((h) => h.action)).toEqual(["freeze", "deploy"]);
    expect((await actions(s)).filter((a) => a === "environment.deploy")).toHaveLength(1);
    expect(s.events()).toHaveLength(1);
  });

  it("writes nothing when a hook in the switch's transaction refuses (a live rollout)", async () => {
    const s = await build({
      rollouts: {
        rolloutOf: async () => null,
        assertSwitchAllowed: async () => {
          throw Object.assign(new Error("a rollout is running"), { status: 409 });
        },
      },
    });
    await expect(s.environments.deploy(actor, key, { versionSet: A, principal: deployer })).rejects.toMatchObject({ status: 409 });
    expect(await s.environments.get(key)).toMatchObject({ active: null, revision: 0 });
    expect((await s.environments.history(key, { limit: 10 })).items).toEqual([]);
    expect(await actions(s)).toEqual(["project.create", "environment.create"]);
    expect(s.events()).toEqual([]);
    expect(s.memory.announced()).toEqual([]);
  });

  it("rolls back to the previous set, then further, then 409s", async () => {
    const s = await build();
    for (const set of [A, B, C]) await s.environments.deploy(actor, key, { versionSet: set, principal: deployer });
    expect(await s.environments.rollback(actor, key, { principal: deployer })).toMatchObject({ active: B, previous: C, revision: 4 });
    expect(await s.environments.rollback(actor, key, { principal: deployer })).toMatchObject({ active: A, previous: B, revision: 5 });
    await expect(s.environments.rollback(actor, key, { principal: deployer })).rejects.toMatchObject({ status: 409 });
    expect(await s.environments.rollback(actor, key, { to: C, principal: deployer })).toMatchObject({ active: C, revision: 6 });
    expect((await actions(s)).filter((a) => a === "environment.rollback")).toHaveLength(3);
    const facts = await s.environments.runbookFacts(key);
    expect(facts).toMatchObject({ environment: { active: C }, liveSince: { action: "rollback", actor: "ci" } });
  });

  it("degrades to the fallback, aborting a live rollout in the same transaction; 409 without a fallback", async () => {
    const aborted: string[] = [];
    const s = await build({
      rollouts: {
        rolloutOf: async () => null,
        abortLive: async (_tx, _actor, k) => (aborted.push(k.environment), { id: "ro_1", after: async () => {} }),
      },
    });
    await s.environments.deploy(actor, key, { versionSet: A, principal: deployer });
    await expect(s.environments.degrade(actor, key, { principal: deployer })).rejects.toMatchObject({ status: 409 });
    expect(aborted).toEqual([]);
    await s.environments.ensure(actor, key, { fallback: B, principal: admin });
    const result = await s.environments.degrade(actor, key, { principal: deployer, reason: "latency" });
    expect(result).toEqual({ active: B, revision: 2, previous: A, changed: true, aborted_rollout: "ro_1", incident: null });
    expect(aborted).toEqual(["prod"]);
    expect((await s.environments.history(key, { limit: 1 })).items[0]).toMatchObject({ action: "degrade", detail: { fallback: B, rollout: "ro_1" } });
    expect((await actions(s)).at(-1)).toBe("environment.degrade");
  });

  it("replays past states with the rollout each revision showed", async () => {
    const s = await build();
    await s.environments.deploy(actor, key, { versionSet: A, principal: deployer });
    s.pastRollouts.push({ id: "ro_1", environment: "prod", stable: A, candidate: B, allow: [], auto: false, created_at: new Date("2026-01-01T00:00:00Z") });
    const step = (revision: number, action: string, detail: unknown, frozen?: boolean) =>
      s.tables.run((tx) => s.memory.writeRevision(tx, key, { revision, active: A, previous: A, action, actor: "ci", actor_token_id: null, reason: null, trace_id: null, detail, ...(frozen !== undefined ? { frozen } : {}) }));
    await step(2, "rollout_start", { rollout: "ro_1", percent: 10 });
    await step(3, "freeze", undefined, true);
    await step(4, "advance", { rollout: "ro_1", from_percent: 10, to_percent: 50 });
    await step(5, "abort", { rollout: "ro_1" });
    const states = await s.environments.statesAfter(key, 2, 10);
    expect(states.map((p) => [p.revision, p.view.frozen, (p.view.rollout as { percent?: number } | null)?.percent ?? null])).toEqual([
      [3, true, 10],
      [4, true, 50],
      [5, true, null],
    ]);
    expect(states[0]!.view.rollout).toMatchObject({ id: "ro_1", stable: A, candidate: B, state: "running", created_at: "2026-01-01T00:00:00.000Z" });
  });
});
