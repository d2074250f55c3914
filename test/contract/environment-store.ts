import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnvironmentKey } from "../../src/core/environment-key.js";
import type { Tx } from "../../src/core/transaction.js";
import type { EnvironmentStore, NewRevision } from "../../src/environments/ports.js";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

/**
 * What the contract needs besides the store: projects (the environments' foreign key) and a way
 * to make version sets exist (the foreign key of `active`; the memory fake has no such key).
 */
export interface EnvironmentStoreFixture {
  environments: EnvironmentStore;
  projects: ProjectStore;
  createVersionSet(project: string, id: string): Promise<void>;
}

const VS1 = "vs_000000000000000000000001";
const VS2 = "vs_000000000000000000000002";
const VS3 = "vs_000000000000000000000003";

const revision = (n: number, fields: Partial<NewRevision> = {}): NewRevision => ({
  revision: n,
  active: null,
  previous: null,
  action: "deploy",
  actor: "ci",
  actor_token_id: null,
  reason: null,
  trace_id: "trace-1",
  ...fields,
});

/** The behaviour every EnvironmentStore has: run on PGlite, Postgres and the memory fake. */
export function environmentStoreContract(backend: StoreBackend<EnvironmentStoreFixture>) {
  describe(`EnvironmentStore contract: ${backend.name}`, () => {
    let open: OpenStores<EnvironmentStoreFixture>;
    let store: EnvironmentStore;
    const run = <T>(work: (tx: Tx) => Promise<T>) => open.transactions.run(work);
    const create = (key: EnvironmentKey, isProtected = false) => run((tx) => store.insertIfAbsent(tx, key, isProtected));

    beforeAll(async () => {
      open = await backend.open();
      store = open.stores.environments;
      for (const p of ["p", "q"]) await run((tx) => open.stores.projects.insertIfAbsent(tx, p, null));
      for (const id of [VS1, VS2, VS3]) await open.stores.createVersionSet("p", id);
    });
    afterAll(async () => open?.close());

    it("creates an environment once: the row the first time, undefined after", async () => {
      const key = { project: "p", environment: "create" };
      const row = await create(key, true);
      expect(row).toMatchObject({ project: "p", name: "create", active: null, revision: 0, protected: true, frozen: false, fallback: null });
      expect(row!.created_at).toBeInstanceOf(Date);
      expect(row!.updated_at).toBeInstanceOf(Date);
      expect(await create(key, false)).toBeUndefined();
      expect(await store.find(key)).toEqual(row);
      expect(await store.findActive(key)).toEqual({ active: null, revision: 0 });
      expect(await store.environmentExists(key)).toBe(true);
    });

    it("finds nothing for an unknown environment, or one of another project", async () => {
      await create({ project: "p", environment: "only-in-p" });
      for (const key of [{ project: "p", environment: "nope" }, { project: "q", environment: "only-in-p" }]) {
        expect(await store.find(key)).toBeUndefined();
        expect(await store.findActive(key)).toBeUndefined();
        expect(await store.environmentExists(key)).toBe(false);
        expect(await run((tx) => store.lockEnvironment(tx, key))).toBeUndefined();
      }
    });

    it("sets `protected` and says whether it changed; sets the fallback", async () => {
      const key = { project: "p", environment: "flags" };
      await create(key);
      expect(await run((tx) => store.setProtected(tx, key, false))).toBeUndefined();
      expect(await run((tx) => store.setProtected(tx, key, true))).toMatchObject({ name: "flags", protected: true });
      expect(await run((tx) => store.setProtected(tx, key, true))).toBeUndefined();
      await run((tx) => store.setFallback(tx, key, VS1));
      expect(await store.find(key)).toMatchObject({ protected: true, fallback: VS1 });
      expect(await run((tx) => store.lockEnvironment(tx, key))).toEqual({ name: "flags", active: null, revision: 0, frozen: false, protected: true, fallback: VS1 });
      await run((tx) => store.setFallback(tx, key, null));
      expect((await store.find(key))!.fallback).toBeNull();
    });

    it("lists newest first, pages by seq, filters by name and project", async () => {
      for (const name of ["l1", "l2", "l3"]) await create({ project: "q", environment: name });
      const all = await store.list("q", { names: "*", limit: 10 });
      expect(all.map((r) => r.name)).toEqual(["l3", "l2", "l1"]);
      expect((await store.list("q", { names: "*", before: all[0]!.seq, limit: 1 })).map((r) => r.name)).toEqual(["l2"]);
      expect((await store.list("q", { names: ["l1", "l3", "other"], limit: 10 })).map((r) => r.name)).toEqual(["l3", "l1"]);
      expect(await store.list("q", { names: [], limit: 10 })).toEqual([]);
      expect(await store.list("nobody", { names: "*", limit: 10 })).toEqual([]);
    });

    it("writes a revision: the pointer, updated_at, and a history entry at that same instant", async () => {
      const key = { project: "p", environment: "rev" };
      const created = (await create(key))!;
      const row = await run(async (tx) => {
        const locked = await store.lockEnvironment(tx, key);
        expect(locked).toEqual({ name: "rev", active: null, revision: 0, frozen: false, protected: false, fallback: null });
        return store.writeRevision(tx, key, revision(1, { active: VS1, reason: "ship", detail: { acknowledged_incident: "inc_1" } }));
      });
      expect(row).toMatchObject({ name: "rev", active: VS1, revision: 1, frozen: false });
      expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(created.updated_at.getTime());
      expect(await store.findActive(key)).toEqual({ active: VS1, revision: 1 });
      const [entry] = await store.history(key, { limit: 10 });
      expect(entry).toEqual({
        project: "p",
        environment: "rev",
        revision: 1,
        action: "deploy",
        version_set: VS1,
        previous: null,
        actor: "ci",
        actor_token_id: null,
        reason: "ship",
        trace_id: "trace-1",
        detail: { acknowledged_incident: "inc_1" },
        at: row.updated_at,
      });
      // `frozen` changes only when given; a missing detail is stored as null.
      const frozen = await run((tx) => store.writeRevision(tx, key, revision(2, { active: VS1, previous: VS1, action: "freeze", frozen: true })));
      expect(frozen.frozen).toBe(true);
      const kept = await run((tx) => store.writeRevision(tx, key, revision(3, { active: VS2, previous: VS1 })));
      expect(kept.frozen).toBe(true);
      expect((await store.history(key, { limit: 1 }))[0]!.detail).toBeNull();
    });

    it("keeps nothing of a transaction that throws", async () => {
      const key = { project: "p", environment: "rollback" };
      await create(key);
      await expect(
        run(async (tx) => {
          await store.writeRevision(tx, key, revision(1, { active: VS1 }));
          await store.insertIfAbsent(tx, { project: "p", environment: "never" }, false);
          await store.announce(tx, "{}");
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await store.findActive(key)).toEqual({ active: null, revision: 0 });
      expect(await store.history(key, { limit: 10 })).toEqual([]);
      expect(await store.find({ project: "p", environment: "never" })).toBeUndefined();
    });

    it("reads its own writes inside the transaction", async () => {
      const key = { project: "p", environment: "inside" };
      const seen = await run(async (tx) => {
        await store.insertIfAbsent(tx, key, false);
        await store.writeRevision(tx, key, revision(1, { active: VS2 }));
        return {
          row: await store.find(key, tx),
          exists: await store.environmentExists(key, tx),
          history: await store.history(key, { limit: 5 }, tx),
        };
      });
      expect(seen.row?.active).toBe(VS2);
      expect(seen.exists).toBe(true);
      expect(seen.history.map((h) => h.revision)).toEqual([1]);
    });

    it("refuses a revision written twice (the history's primary key)", async () => {
      const key = { project: "p", environment: "twice" };
      await create(key);
      await run((tx) => store.writeRevision(tx, key, revision(1, { active: VS1 })));
      await expect(run((tx) => store.writeRevision(tx, key, revision(1, { active: VS2, previous: VS1 })))).rejects.toThrow();
      expect(await store.findActive(key)).toEqual({ active: VS1, revision: 1 });
    });

    // Row locks cannot be faked: on Postgres the second transaction really waits for the lock;
    // PGlite (one connection) and the memory fake run transactions one at a time, so there the
    // test only shows the order a serialized run gives.
    it("serializes changes on the row lock: the second sees the first's revision", async () => {
      const key = { project: "p", environment: "locked" };
      await create(key);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const order: string[] = [];
      const first = run(async (tx) => {
        const locked = await store.lockEnvironment(tx, key);
        order.push("first locked");
        await held;
        await store.writeRevision(tx, key, revision(locked!.revision + 1, { active: VS1 }));
        order.push("first wrote");
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = run(async (tx) => {
        const locked = await store.lockEnvironment(tx, key);
        order.push(`second locked at ${locked!.revision}`);
        await store.writeRevision(tx, key, revision(locked!.revision + 1, { active: VS2, previous: locked!.active }));
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(["first locked", "first wrote", "second locked at 1"]);
      expect(await store.findActive(key)).toEqual({ active: VS2, revision: 2 });
    });

    describe("history reads", () => {
      const key = { project: "p", environment: "hist" };
      const other = { project: "p", environment: "hist-other" };
      beforeAll(async () => {
        await create(key);
        await create(other);
        const steps: NewRevision[] = [
          revision(1, { active: VS1 }),
          revision(2, { active: VS1, previous: VS1, action: "rollout_start", detail: { rollout: "ro_a", percent: 10 } }),
          revision(3, { active: VS1, previous: VS1, action: "freeze", frozen: true }),
          revision(4, { active: VS1, previous: VS1, action: "advance", detail: { rollout: "ro_a", from_percent: 10, to_percent: 50 } }),
          revision(5, { active: VS2, previous: VS1, action: "promote", detail: { rollout: "ro_a" } }),
          revision(6, { active: VS2, previous: VS2, action: "unfreeze", frozen: false }),
          revision(7, { active: VS2, previous: VS2, action: "rollout_start", detail: { rollout: "ro_b", percent: 5 } }),
        ];
        for (const step of steps) await run((tx) => store.writeRevision(tx, key, step));
        await run((tx) => store.writeRevision(tx, other, revision(1, { active: VS3, action: "rollout_start", detail: { rollout: "ro_a", percent: 99 } })));
      });

      it("pages newest first by revision", async () => {
        expect((await store.history(key, { limit: 3 })).map((h) => h.revision)).toEqual([7, 6, 5]);
        expect((await store.history(key, { before: 5, limit: 3 })).map((h) => h.revision)).toEqual([4, 3, 2]);
        expect((await store.history(key, { before: 2, limit: 3 })).map((h) => h.revision)).toEqual([1]);
      });

      it("pages the entries as the history page shows them: the same entries, the API's fields in its order, `at` as toISOString writes it", async () => {
        const records = await store.history(key, { limit: 10 });
        const page = await store.historyPage(key, { limit: 10 });
        expect(page).toEqual(
          records.map((r) => ({ revision: r.revision, action: r.action, version_set: r.version_set, previous: r.previous, actor: r.actor, reason: r.reason, trace_id: r.trace_id, detail: r.detail ?? null, at: r.at.toISOString() })),
        );
        expect(Object.keys(page[0]!)).toEqual(["revision", "action", "version_set", "previous", "actor", "reason", "trace_id", "detail", "at"]);
        expect(page[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect((await store.historyPage(key, { before: 5, limit: 3 })).map((h) => h.revision)).toEqual([4, 3, 2]);
        expect(await store.historyPage({ project: "p", environment: "nothing-here" }, { limit: 3 })).toEqual([]);
      });

      it("reads the entries after a revision, oldest first", async () => {
        expect((await store.historyAfter(key, 4, 2)).map((h) => h.revision)).toEqual([5, 6]);
        expect((await store.historyAfter(key, 7, 10))).toEqual([]);
      });

      it("finds the last entry of some actions at or before a revision", async () => {
        expect((await store.lastOf(key, 5, ["freeze", "unfreeze"]))?.revision).toBe(3);
        expect((await store.lastOf(key, 6, ["freeze", "unfreeze"]))?.revision).toBe(6);
        expect((await store.lastOf(key, 3, ["rollout_start", "advance"]))?.revision).toBe(2);
        expect(await store.lastOf(key, 1, ["freeze"])).toBeUndefined();
        expect(await store.lastOf(key, 7, [])).toBeUndefined();
      });

      it("finds the entry in force at a time, at millisecond precision", async () => {
        const entries = (await store.history(key, { limit: 10 })).reverse();
        const third = entries[2]!;
        expect((await store.entryAt(key, third.at))?.revision).toBeGreaterThanOrEqual(3);
        // Entries written within the same millisecond tie with it: the newest of them wins.
        expect((await store.entryAt(key, third.at))!.at.getTime() - third.at.getTime()).toBeLessThan(1);
        expect(await store.entryAt(key, new Date(entries[0]!.at.getTime() - 1000))).toBeUndefined();
        expect((await store.entryAt(key, new Date(Date.now() + 60_000)))?.revision).toBe(7);
      });

      it("reads a rollout's entries and the percents it set", async () => {
        const ro = { project: "p", environment: "hist", id: "ro_a" };
        expect((await store.historyOf(ro)).map((h) => h.revision)).toEqual([2, 4, 5]);
        const percents = await store.percentChanges(ro);
        expect(percents.map((p) => p.percent)).toEqual([10, 50]);
        for (const p of percents) expect(p.at).toBeInstanceOf(Date);
        expect((await store.percentChanges({ ...ro, id: "ro_b" })).map((p) => p.percent)).toEqual([5]);
        expect(await store.historyOf({ ...ro, id: "ro_none" })).toEqual([]);
        expect((await run((tx) => store.percentChanges({ ...ro, environment: "hist-other" }, tx))).map((p) => p.percent)).toEqual([99]);
      });
    });
  });
}
