import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/core/errors.js";
import type { GcStore } from "../../src/gc/ports.js";
import { DEFAULT_RETENTION } from "../../src/gc/settings.js";
import type { ProjectStore } from "../../src/projects/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

export interface GcStores {
  gc: GcStore;
  projects: ProjectStore;
}

/**
 * The behaviour every GcStore has (retention settings, runs): run on PGlite, Postgres and the
 * memory fake. The mark and sweep (CollectionStore) is the named cross-table exception and has
 * no fake: test/integration/gc*.test.ts run it on the databases.
 */
export function gcStoreContract(backend: StoreBackend<GcStores>) {
  describe(`GcStore contract: ${backend.name}`, () => {
    let open: OpenStores<GcStores>;
    let gc: GcStore;
    beforeAll(async () => {
      open = await backend.open();
      gc = open.stores.gc;
      await open.transactions.run((tx) => open.stores.projects.insertIfAbsent(tx, "shop", null));
    });
    afterAll(async () => open?.close());

    it("answers the defaults without a row, then the stored settings, replaced on a second write", async () => {
      expect(await gc.retention("shop")).toEqual(DEFAULT_RETENTION);
      await open.transactions.run((tx) => gc.setRetention(tx, "shop", { days: 7, keep_last: 3 }, "admin"));
      expect(await gc.retention("shop")).toEqual({ days: 7, keep_last: 3 });
      await open.transactions.run(async (tx) => {
        await gc.setRetention(tx, "shop", { days: 8, keep_last: 4 }, "admin");
        expect(await gc.retention("shop", tx)).toEqual({ days: 8, keep_last: 4 });
      });
      await expect(
        open.transactions.run(async (tx) => {
          await gc.setRetention(tx, "shop", { days: 1, keep_last: 1 }, "admin");
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await gc.retention("shop")).toEqual({ days: 8, keep_last: 4 });
    });

    it("admits one running run, finishes it with its report, and lists runs newest first", async () => {
      const run = await gc.startRun({ project: null, dryRun: true, trigger: "api", actor: "admin", leaseMs: 60_000 });
      expect(run).toMatchObject({ state: "running", dry_run: true, trigger: "api", actor: "admin", project: null, finished_at: null, report: null });
      await expect(gc.startRun({ project: null, dryRun: false, trigger: "schedule", actor: null, leaseMs: 60_000 })).rejects.toBeInstanceOf(ConflictError);
      await gc.heartbeat(run.id);
      const done = await gc.finishRun(run.id, { state: "finished", report: { total: { bytes: 1 } } });
      expect(done).toMatchObject({ id: run.id, state: "finished", report: { total: { bytes: 1 } }, error: null });
      expect(done.finished_at).toBeInstanceOf(Date);
      const second = await gc.startRun({ project: "shop", dryRun: false, trigger: "schedule", actor: null, leaseMs: 60_000 });
      const failed = await gc.finishRun(second.id, { state: "failed", error: "disk gone" });
      expect(failed).toMatchObject({ state: "failed", error: "disk gone", report: null });
      const runs = await gc.listRuns({ limit: 10 });
      expect(runs.map((r) => r.id)).toEqual([second.id, run.id]);
      expect((await gc.listRuns({ before: runs[0]!.seq, limit: 10 })).map((r) => r.id)).toEqual([run.id]);
    });

    it("marks a running run without a heartbeat within the lease as interrupted and starts a new one", async () => {
      const stale = await gc.startRun({ project: null, dryRun: false, trigger: "api", actor: null, leaseMs: 60_000 });
      await new Promise((r) => setTimeout(r, 30));
      const next = await gc.startRun({ project: null, dryRun: false, trigger: "api", actor: null, leaseMs: 1 });
      expect(next.state).toBe("running");
      const [latest, interrupted] = await gc.listRuns({ limit: 2 });
      expect(latest!.id).toBe(next.id);
      expect(interrupted).toMatchObject({ id: stale.id, state: "interrupted" });
      expect(interrupted!.error).toMatch(/no heartbeat/);
      await gc.finishRun(next.id, { state: "finished", report: {} });
    });
  });
}
