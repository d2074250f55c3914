import { describe, expect, it } from "vitest";
import { MemoryAuditStore } from "../../src/audit/memory-store.js";
import type { Actor } from "../../src/core/actor.js";
import { MemoryTables } from "../../src/core/memory-tables.js";
import type { Principal } from "../../src/core/principal.js";
import type { Tx } from "../../src/core/transaction.js";
import { MemoryIncidentStore } from "../../src/incidents/memory-store.js";
import type { IncidentKey } from "../../src/incidents/ports.js";
import { IncidentService } from "../../src/incidents/service.js";
import { MemoryProjectStore } from "../../src/projects/memory-store.js";
import { ProjectService } from "../../src/projects/service.js";
import type { OutboxEvent } from "../../src/webhooks/ports.js";

const actor: Actor = { name: "oncall", tokenId: "tok_1", traceId: "t", clientAddress: null };
const principal = (over: Partial<Principal> = {}): Principal => ({ tokenId: "tok_1", name: "oncall", scopes: new Set(["deploy"]), projects: "*", ...over });
const prod: IncidentKey = { project: "shop", environment: "prod" };

async function build(options: { failOutbox?: boolean } = {}) {
  const tables = new MemoryTables();
  const audit = new MemoryAuditStore(tables);
  const projects = new ProjectService({ store: new MemoryProjectStore(tables), audit, transactions: tables });
  await projects.ensure(actor, "shop", null);
  const events: OutboxEvent[] = [];
  const store = new MemoryIncidentStore(tables);
  const environments = new Map<string, string | null>([["prod", "vs_stable"], ["staging", "vs_s"]]);
  const service = new IncidentService({
    store,
    projects,
    environments: { lockActive: async (_tx: Tx, key) => (environments.has(key.environment) ? { active: environments.get(key.environment)! } : undefined) },
    rollouts: {
      liveRollout: async (_tx, key) => (key.environment === "prod" ? { id: "ro_live" } : undefined),
      candidateTraceIds: async (_tx, _p, rollout) => (rollout === "ro_live" ? ["trace-1", "trace-2"] : []),
      evidenceOf: async () => [],
    },
    artifacts: { find: async () => undefined },
    audit,
    outbox: {
      enqueue: async (_tx, event) => {
        if (options.failOutbox) throw new Error("outbox down");
        events.push(event);
        return 1;
      },
    },
    transactions: tables,
  });
  return { service, store, audit, events, tables };
}

describe("IncidentService (memory stores)", () => {
  it("opens an incident with the live rollout and its candidate traces, audits it and announces it", async () => {
    const { service, audit, events } = await build();
    const view = await service.open(actor, principal(), "shop", { environment: "prod", severity: "sev1", summary: "errors" });
    expect(view).toMatchObject({ environment: "prod", state: "open", severity: "sev1", rollout: "ro_live", stable: "vs_stable", sample_trace_ids: ["trace-1", "trace-2"] });
    expect((await audit.list({ action: "incident.open", limit: 10 })).map((e) => e.target)).toEqual([`environment/prod/incident/${view.id}`]);
    expect(events.map((e) => e.event)).toEqual(["incident.opened"]);
  });

  it("answers 404 for an environment the caller may not see or that does not exist, and for an unknown project", async () => {
    const { service } = await build();
    const limited = principal({ environments: new Set(["staging"]) });
    await expect(service.open(actor, limited, "shop", { environment: "prod", severity: "sev2", summary: "x" })).rejects.toMatchObject({ status: 404 });
    await expect(service.open(actor, principal(), "shop", { environment: "ghost", severity: "sev2", summary: "x" })).rejects.toMatchObject({ status: 404 });
    await expect(service.open(actor, principal(), "nope", { environment: "prod", severity: "sev2", summary: "x" })).rejects.toMatchObject({ status: 404 });
  });

  it("refuses a second open incident on the environment (409) and hides incidents of invisible environments", async () => {
    const { service } = await build();
    const first = await service.open(actor, principal(), "shop", { environment: "prod", severity: "sev2", summary: "x" });
    await expect(service.open(actor, principal(), "shop", { environment: "prod", severity: "sev2", summary: "y" })).rejects.toMatchObject({ status: 409 });
    const limited = principal({ environments: new Set(["staging"]) });
    expect((await service.list(limited, "shop", { limit: 10 })).items).toEqual([]);
    await expect(service.get(limited, "shop", first.id)).rejects.toMatchObject({ status: 404 });
    expect((await service.get(principal(), "shop", first.id)).id).toBe(first.id);
  });

  it("guards deploys while an incident is open: 409 incident_open, the stable set passes, an acknowledgement is noted", async () => {
    const { service, tables, store } = await build();
    const open = await service.open(actor, principal(), "shop", { environment: "prod", severity: "sev2", summary: "x" });
    await expect(tables.run((tx) => service.guard(tx, actor, prod, { what: "deploy", target: "vs_new" }))).rejects.toMatchObject({ status: 409, code: "incident_open" });
    expect(await tables.run((tx) => service.guard(tx, actor, prod, { what: "deploy", target: "vs_stable" }))).toBeNull();
    expect(await tables.run((tx) => service.guard(tx, actor, prod, { what: "deploy", target: "vs_new", acknowledge: open.id }))).toBe(open.id);
    expect((await store.find("shop", open.id))?.notes.map((n) => n.text)).toEqual(["acknowledged: deploy of vs_new"]);
  });

  it("closes only with a regression set, or an admin's waiver", async () => {
    const { service, audit, events } = await build();
    const open = await service.open(actor, principal(), "shop", { environment: "prod", severity: "sev2", summary: "x" });
    await expect(service.close(actor, principal(), "shop", open.id, {})).rejects.toMatchObject({ status: 409, code: "regression_set_required" });
    await expect(service.close(actor, principal(), "shop", open.id, { regressionSet: "evalset/e@1" })).rejects.toMatchObject({ status: 422 });
    await expect(service.close(actor, principal(), "shop", open.id, { waive: true, reason: "r" })).rejects.toMatchObject({ status: 403 });
    const closed = await service.close(actor, principal({ scopes: new Set(["admin"]) }), "shop", open.id, { waive: true, reason: "r" });
    expect(closed.state).toBe("closed");
    expect((await audit.list({ action: "incident.close", limit: 10 })).length).toBe(1);
    expect(events.map((e) => e.event)).toEqual(["incident.opened", "incident.closed"]);
    await expect(service.addNote(actor, principal(), "shop", open.id, "late")).rejects.toMatchObject({ status: 409 });
  });

  it("a rollback mitigates the open incident; a degrade links to it", async () => {
    const { service, tables, store, events } = await build();
    const open = await service.open(actor, principal(), "shop", { environment: "prod", severity: "sev2", summary: "x" });
    await tables.run((tx) => service.onRolledBack(tx, actor, prod, { active: "vs_old", revision: 7 }));
    expect(await store.find("shop", open.id)).toMatchObject({ state: "mitigated", mitigated_by: { action: "rollback", revision: 7 }, stable: "vs_old" });
    const linked = await tables.run((tx) => service.onDegraded(tx, actor, prod, { applied: { active: "vs_fb", revision: 8 }, rollout: null, reason: "down" }));
    expect(linked).toEqual({ incident: open.id });
    expect(events.map((e) => e.event)).toEqual(["incident.opened", "incident.mitigated"]);
  });

  it("writes nothing when the outbox row cannot be written", async () => {
    const { service, store } = await build({ failOutbox: true });
    await expect(service.open(actor, principal(), "shop", { environment: "prod", severity: "sev2", summary: "x" })).rejects.toThrow("outbox down");
    expect(await store.list("shop", { limit: 10 })).toEqual([]);
  });
});
