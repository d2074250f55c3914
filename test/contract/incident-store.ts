import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IncidentKey, IncidentStore, NewIncident } from "../../src/incidents/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

export interface IncidentStores {
  incidents: IncidentStore;
  /** Fixture: the environment incidents hang off (a foreign key on the databases; nothing in memory). */
  seedEnvironment(key: IncidentKey): Promise<void>;
}

const newId = () => `inc_${randomBytes(12).toString("hex")}`;
const incident = (over: Partial<NewIncident> = {}): NewIncident => ({
  id: newId(),
  severity: "sev2",
  summary: "errors up",
  openedBy: "oncall",
  rollout: null,
  stable: "vs_stable",
  sampleTraceIds: [],
  ...over,
});

/** The behaviour every IncidentStore has: run on PGlite, Postgres and the memory fake. Row locks are tested in test/integration/incidents.test.ts. */
export function incidentStoreContract(backend: StoreBackend<IncidentStores>) {
  describe(`IncidentStore contract: ${backend.name}`, () => {
    let open: OpenStores<IncidentStores>;
    let store: IncidentStore;
    let n = 0;
    const env = async (): Promise<IncidentKey> => {
      const key = { project: "shop", environment: `env${++n}` };
      await open.stores.seedEnvironment(key);
      return key;
    };
    const run = <T>(work: Parameters<typeof open.transactions.run<T>>[0]) => open.transactions.run(work);
    beforeAll(async () => {
      open = await backend.open();
      store = open.stores.incidents;
    });
    afterAll(async () => open?.close());

    it("opens one incident per environment: a second opener gets undefined until it is closed", async () => {
      const key = await env();
      const first = await run((tx) => store.insertIfNoneOpen(tx, key, incident({ sampleTraceIds: ["t1", "t2"], note: { at: "2026-01-01T00:00:00Z", author: "a", text: "hi" } })));
      expect(first).toMatchObject({ project: "shop", environment: key.environment, state: "open", severity: "sev2", stable: "vs_stable", sample_trace_ids: ["t1", "t2"], mitigated_at: null, closed_at: null });
      expect(first!.notes).toEqual([{ at: "2026-01-01T00:00:00Z", author: "a", text: "hi" }]);
      expect(first!.opened_at).toBeInstanceOf(Date);
      expect(await run((tx) => store.insertIfNoneOpen(tx, key, incident()))).toBeUndefined();
      expect((await run((tx) => store.openFor(tx, key)))?.id).toBe(first!.id);
      await run((tx) => store.close(tx, first!, { closedBy: "lead", regressionSet: null, resolution: { waived: true } }));
      expect(await run((tx) => store.openFor(tx, key))).toBeUndefined();
      expect(await run((tx) => store.insertIfNoneOpen(tx, key, incident()))).toBeDefined();
    });

    it("opens an incident already mitigated when the change that opened it stopped the loss", async () => {
      const key = await env();
      const row = await run((tx) => store.insertIfNoneOpen(tx, key, incident({ mitigated: { action: "degrade", revision: 4 } })));
      expect(row).toMatchObject({ state: "mitigated", mitigated_by: { action: "degrade", revision: 4 } });
      expect(row!.mitigated_at).toBeInstanceOf(Date);
    });

    it("appends notes, links a rollout once, merges trace ids and mitigates only an open incident", async () => {
      const key = await env();
      const row = (await run((tx) => store.insertIfNoneOpen(tx, key, incident({ stable: null, sampleTraceIds: ["a"] }))))!;
      const noted = await run((tx) => store.appendNote(tx, row, { at: "x", author: "b", text: "looking" }));
      expect(noted.notes.map((n) => n.text)).toEqual(["looking"]);
      const linked = await run((tx) => store.link(tx, noted, { rollout: "ro_1", sampleTraceIds: ["a", "b"], stable: "vs_1" }));
      expect(linked).toMatchObject({ rollout: "ro_1", sample_trace_ids: ["a", "b"], stable: "vs_1", state: "open" });
      const mitigated = await run((tx) => store.link(tx, linked, { rollout: "ro_2", mitigated: { action: "abort", revision: 9 }, stable: "vs_2" }));
      expect(mitigated).toMatchObject({ rollout: "ro_1", state: "mitigated", mitigated_by: { action: "abort", revision: 9 }, stable: "vs_2" });
      const again = await run((tx) => store.link(tx, mitigated, { mitigated: { action: "rollback", revision: 10 }, stable: "vs_3" }));
      expect(again).toMatchObject({ state: "mitigated", mitigated_by: { action: "abort", revision: 9 }, stable: "vs_2" });
      expect((await store.find("shop", row.id))?.notes.map((n) => n.text)).toEqual(["looking"]);
    });

    it("closes with who, the regression set and the resolution", async () => {
      const key = await env();
      const row = (await run((tx) => store.insertIfNoneOpen(tx, key, incident())))!;
      const closed = await run((tx) => store.close(tx, row, { closedBy: "lead", regressionSet: "evalset/e@2", resolution: { regression_set: "evalset/e@2", summary: null } }));
      expect(closed).toMatchObject({ state: "closed", closed_by: "lead", regression_set: "evalset/e@2", resolution: { regression_set: "evalset/e@2", summary: null } });
      expect(closed.closed_at).toBeInstanceOf(Date);
      expect(await run((tx) => store.findForUpdate(tx, "shop", row.id))).toEqual(closed);
    });

    it("finds by id within the project and the first incident of a rollout", async () => {
      const key = await env();
      const row = (await run((tx) => store.insertIfNoneOpen(tx, key, incident({ rollout: "ro_find" }))))!;
      expect(await store.find("shop", row.id)).toEqual(row);
      expect(await store.find("other", row.id)).toBeUndefined();
      expect(await store.byRollout("shop", "ro_find")).toEqual({ id: row.id });
      expect(await store.byRollout("shop", "ro_none")).toBeUndefined();
    });

    it("lists newest first, filtered by state and environment, paged by seq", async () => {
      const a = await env();
      const b = await env();
      const ra = (await run((tx) => store.insertIfNoneOpen(tx, a, incident())))!;
      const rb = (await run((tx) => store.insertIfNoneOpen(tx, b, incident({ mitigated: { action: "degrade", revision: 1 } }))))!;
      const mine = (await store.list("shop", { limit: 100 })).filter((r) => r.id === ra.id || r.id === rb.id);
      expect(mine.map((r) => r.id)).toEqual([rb.id, ra.id]);
      expect((await store.list("shop", { environment: a.environment, limit: 10 })).map((r) => r.id)).toEqual([ra.id]);
      expect((await store.list("shop", { environment: b.environment, state: "open", limit: 10 }))).toEqual([]);
      expect((await store.list("shop", { environment: b.environment, notClosed: true, limit: 10 })).map((r) => r.id)).toEqual([rb.id]);
      expect((await store.list("shop", { before: rb.seq, limit: 1 })).map((r) => r.id)).toEqual([ra.id]);
      expect(await store.list("other", { limit: 10 })).toEqual([]);
    });

    it("keeps nothing of a transaction that throws", async () => {
      const key = await env();
      const id = newId();
      await expect(
        run(async (tx) => {
          await store.insertIfNoneOpen(tx, key, incident({ id }));
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await store.find("shop", id)).toBeUndefined();
    });
  });
}
