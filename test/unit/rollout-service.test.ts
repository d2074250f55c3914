import { describe, expect, it } from "vitest";
import type { AuditStore } from "../../src/audit/ports.js";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import { MemoryBlobStore } from "../../src/blobs/memory.js";
import type { Actor } from "../../src/core/actor.js";
import { AppError } from "../../src/core/errors.js";
import { MemoryTables } from "../../src/core/memory-tables.js";
import type { Principal } from "../../src/core/principal.js";
import { EnvironmentChanger } from "../../src/environments/change.js";
import { MemoryEnvironmentStore } from "../../src/environments/memory-store.js";
import { createLogger } from "../../src/logger.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { ProjectService } from "../../src/projects/service.js";
import { composeRollouts } from "../../src/rollouts/compose.js";
import { memoryRolloutStores } from "../../src/rollouts/memory-store.js";

const actor: Actor = { name: "ci", tokenId: null, traceId: "trace-1", clientAddress: null };
const deployer: Principal = { tokenId: "tok_d", name: "deployer", scopes: new Set(["read", "publish", "deploy"]), projects: "*" };
const A = `vs_${"a".repeat(24)}`;
const B = `vs_${"b".repeat(24)}`;
const prod = { project: "p", environment: "prod" };

/** The rollouts domain over the memory fakes: p/prod serving A, version sets A and B existing. `failAudit` makes that action's audit entry throw. */
async function build(options: { failAudit?: string } = {}) {
  const tables = new MemoryTables();
  const memoryAudit = new MemoryAuditStore(tables);
  const audit: AuditStore = {
    list: (query) => memoryAudit.list(query),
    record: async (tx, who, entry) => {
      if (entry.action === options.failAudit) throw new Error("audit down");
      await memoryAudit.record(tx, who, entry);
    },
  };
  const projects = new ProjectService({ store: new MemoryProjectStore(tables), audit, transactions: tables });
  const environmentStore = new MemoryEnvironmentStore(tables);
  const changes = new EnvironmentChanger({ store: environmentStore, sets: { assertSetsLive: async () => {} }, events: { enqueue: async () => 0 } });
  const events: Array<{ event: string; data: unknown }> = [];
  const sets = new Set([A, B]);
  const blobStore = new MemoryBlobStore();
  const stores = memoryRolloutStores(tables);
  const invalidated: string[] = [];
  const domain = composeRollouts({
    transactions: tables,
    stores,
    environments: environmentStore,
    changes,
    projects,
    audit,
    events: { enqueue: async (_tx, event) => void events.push(event) },
    versionSets: {
      exists: async (_tx, _project, id) => sets.has(id),
      get: async (_project, id) => ({ id }),
      diff: async (_project, from, to) => ({ from, to }),
    },
    blobStore,
    resolveCache: { invalidate: (project, env) => void invalidated.push(`${project}/${env}`) },
    logger: createLogger({ level: "silent" }),
  });
  await projects.ensure(actor, "p", null);
  await tables.run(async (tx) => {
    await environmentStore.insertIfAbsent(tx, prod, false);
    await changes.apply(tx, actor, { ...prod, action: "deploy", active: A });
  });
  const revision = async () => (await environmentStore.find(prod))!.revision;
  return { ...domain, tables, audit, stores, environmentStore, events, blobStore, invalidated, revision };
}

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const app = err as AppError;
  return { status: app.status, code: app.code, message: app.message };
}

describe("RolloutService (memory stores)", () => {
  it("answers 404 for a missing project, then for a missing environment, and 422 for an unknown candidate", async () => {
    const s = await build();
    expect(await refusal(s.rollouts.start(actor, deployer, { project: "nope", environment: "prod" }, { candidate: B, percent: 10 }))).toMatchObject({ status: 404, message: "Project nope not found" });
    expect(await refusal(s.rollouts.start(actor, deployer, { project: "p", environment: "qa" }, { candidate: B, percent: 10 }))).toMatchObject({ status: 404, message: "Environment qa not found in project p" });
    expect(await refusal(s.rollouts.get({ project: "p", environment: "qa" }))).toMatchObject({ status: 404 });
    expect(await refusal(s.rollouts.start(actor, deployer, prod, { candidate: `vs_${"c".repeat(24)}`, percent: 10 }))).toMatchObject({ status: 422 });
    expect(await refusal(s.rollouts.start(actor, deployer, prod, { candidate: A, percent: 10 }))).toMatchObject({ status: 422 });
    expect(await refusal(s.rollouts.get(prod))).toMatchObject({ status: 404, message: "No rollout was ever started on environment prod of project p" });
    expect(await s.stores.rollouts.latest(prod)).toBeUndefined();
  });

  it("starts a rollout as one revision: the row, the history entry, the audit entry and the rollout.changed event", async () => {
    const s = await build();
    const before = await s.revision();
    const view = await s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10, reason: "canary" });
    expect(view).toMatchObject({ environment: "prod", stable: A, candidate: B, percent: 10, state: "running", revision: before + 1, evidence: [] });
    const history = await s.environmentStore.history(prod, { limit: 1 });
    expect(history[0]).toMatchObject({ action: "rollout_start", reason: "canary", detail: { rollout: view.id, candidate: B, stable: A, percent: 10 } });
    expect((await s.audit.list({ action: "rollout.start", limit: 10 })).map((e) => e.target)).toEqual([`environment/prod/rollout/${view.id}`]);
    expect(s.events).toEqual([expect.objectContaining({ event: "rollout.changed", data: expect.objectContaining({ action: "rollout_start", revision: before + 1 }) })]);
    expect(await s.rollouts.rolloutOf("p", "prod")).toMatchObject({ id: view.id });
    expect(await s.rollouts.assign("p", "prod", "someone")).toMatchObject({ versionSet: expect.stringMatching(/^vs_/) });
    expect(s.invalidated).toContain("p/prod");
    expect(await refusal(s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10 }))).toMatchObject({ status: 409 });
  });

  it("writes nothing when a step's audit entry cannot be written", async () => {
    const s = await build({ failAudit: "rollout.start" });
    const before = await s.revision();
    await expect(s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10 })).rejects.toThrow("audit down");
    expect(await s.stores.rollouts.latest(prod)).toBeUndefined();
    expect(await s.revision()).toBe(before);
    expect((await s.environmentStore.history(prod, { limit: 10 })).map((h) => h.action)).toEqual(["deploy"]);
  });

  it("refuses an advance the gate does not allow (409 gate_blocked, nothing written); a forced promote switches the active set and writes a pack", async () => {
    const s = await build();
    await s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10 });
    const at = await s.revision();
    expect(await refusal(s.rollouts.advance(actor, deployer, prod, {}))).toMatchObject({ status: 409, code: "gate_blocked" });
    expect(await s.revision()).toBe(at);
    expect(await refusal(s.rollouts.advance(actor, deployer, prod, { percent: 5, force: true }))).toMatchObject({ status: 422 });
    const promoted = await s.rollouts.advance(actor, deployer, prod, { percent: 100, force: true, reason: "ship it" });
    expect(promoted).toMatchObject({ state: "promoted", percent: 100, evidence: [promoted.id] });
    expect((await s.environmentStore.find(prod))!.active).toBe(B);
    expect([...s.blobStore.objects.keys()].some((k) => k.endsWith(`/${promoted.id}/manifest.json`))).toBe(true);
    const pack = await s.rollouts.evidencePack("p", promoted.id, () => true);
    expect(Object.keys(pack.contents)).toContain("audit.json");
    const audit = pack.contents["audit.json"] as Array<{ action: string }>;
    expect(audit.map((e) => e.action)).toEqual(["rollout.start", "rollout.promote"]);
    expect(await refusal(s.rollouts.evidencePack("p", promoted.id, () => false))).toMatchObject({ status: 404 });
    expect(await refusal(s.rollouts.evidencePack("nope", promoted.id, () => true))).toMatchObject({ status: 404, message: "Project nope not found" });
  });

  it("freezes only while no rollout is live, and a frozen environment refuses a new rollout (423) until unfrozen", async () => {
    const s = await build();
    await s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10 });
    expect(await refusal(s.rollouts.freeze(actor, deployer, prod, {}))).toMatchObject({ status: 409 });
    await s.rollouts.abort(actor, deployer, prod, { reason: "no" });
    await s.rollouts.freeze(actor, deployer, prod, { reason: "incident" });
    expect((await s.environmentStore.find(prod))!.frozen).toBe(true);
    expect((await s.audit.list({ action: "environment.freeze", limit: 10 })).length).toBe(1);
    expect(await refusal(s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10 }))).toMatchObject({ status: 423 });
    await s.rollouts.unfreeze(actor, prod, {});
    expect((await s.environmentStore.find(prod))!.frozen).toBe(false);
    const at = await s.revision();
    await s.rollouts.unfreeze(actor, prod, {});
    expect(await s.revision()).toBe(at);
  });
});

describe("GateService (memory stores)", () => {
  const window = { windowStart: new Date("2026-01-01T00:00:00Z"), windowEnd: new Date("2026-01-01T00:01:00Z") };

  it("takes observations only for a live rollout's two sets, and records each with its audit entry", async () => {
    const s = await build();
    expect(await refusal(s.gates.record(actor, deployer, prod, { versionSet: A, metrics: { quality: { success_rate: 0.99 } }, ...window }))).toMatchObject({ status: 409 });
    const started = await s.rollouts.start(actor, deployer, prod, { candidate: B, percent: 10 });
    expect(await refusal(s.gates.record(actor, deployer, prod, { versionSet: `vs_${"c".repeat(24)}`, metrics: { quality: { success_rate: 0.99 } }, ...window }))).toMatchObject({ status: 422 });
    expect(await refusal(s.gates.record(actor, deployer, prod, { versionSet: B, metrics: { quality: { success_rate: 0.99 } }, windowStart: window.windowEnd, windowEnd: window.windowStart }))).toMatchObject({ status: 422 });
    const recorded = await s.gates.record(actor, deployer, prod, { versionSet: B, metrics: { quality: { success_rate: 0.99 } }, ...window });
    expect(recorded).toMatchObject({ side: "candidate", rollout: { id: started.id, state: "running" } });
    expect((await s.gates.list(prod, { limit: 10 })).items.map((o) => o.id)).toEqual([recorded.id]);
    expect((await s.audit.list({ action: "observation.record", limit: 10 })).length).toBe(1);
    expect(await refusal(s.gates.list({ project: "p", environment: "qa" }, { limit: 10 }))).toMatchObject({ status: 404 });
  });

  it("merges a policy over the one in force, audited, and refuses an inconsistent one with nothing stored", async () => {
    const s = await build();
    const before = await s.gates.policy(prod);
    const after = await s.gates.setPolicy(actor, deployer, prod, { steps: [5, 50, 100] });
    expect(after.steps.map((x) => (typeof x === "number" ? x : x.percent))).toEqual([5, 50, 100]);
    expect(JSON.stringify((await s.gates.policy(prod)).steps)).toBe(JSON.stringify(after.steps));
    expect((await s.audit.list({ action: "gate_policy.update", limit: 10 }))[0]).toMatchObject({ before: JSON.parse(JSON.stringify(before)) });
    expect(await refusal(s.gates.setPolicy(actor, deployer, prod, { steps: [50, 5, 100] }))).toMatchObject({ status: 422 });
    expect(JSON.stringify((await s.gates.policy(prod)).steps)).toBe(JSON.stringify(after.steps));
  });
});
