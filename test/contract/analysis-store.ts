import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnalysisStore, NewRun } from "../../src/analysis/ports.js";
import type { Tx } from "../../src/core/transaction.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

/** The analysis store, plus the environments its foreign key needs (a no-op in memory). */
export interface AnalysisContractStores {
  analysis: AnalysisStore;
  seed(project: string, environments: string[]): Promise<void>;
}

const P = "proj";
const key = (environment: string) => ({ project: P, environment });

function newRun(over: Partial<NewRun> = {}): NewRun {
  return {
    rolloutId: "ro_1",
    windowStart: new Date("2026-01-01T00:00:00Z"),
    windowEnd: new Date("2026-01-01T00:01:00Z"),
    status: "ok",
    durationMs: 12.6,
    errors: [],
    warnings: ["w"],
    notes: ["n"],
    observations: { stable: "ob_1" },
    action: null,
    ...over,
  };
}

/** The behaviour every AnalysisStore has: run on PGlite, Postgres and the memory fake. Racing claims are tested on SQL (analysis-loop.test.ts). */
export function analysisStoreContract(backend: StoreBackend<AnalysisContractStores>) {
  describe(`AnalysisStore contract: ${backend.name}`, () => {
    let open: OpenStores<AnalysisContractStores>;
    let store: AnalysisStore;
    const run = <T>(work: (tx: Tx) => Promise<T>): Promise<T> => open.transactions.run(work);
    beforeAll(async () => {
      open = await backend.open();
      store = open.stores.analysis;
      await open.stores.seed(P, ["a", "b", "c", "d"]);
    });
    afterAll(async () => open?.close());

    it("saves a config as JSON, replaces it keeping the claim, and deletes it once", async () => {
      expect(await store.config(key("a"))).toBeUndefined();
      await run((tx) => store.saveConfig(tx, key("a"), { interval_seconds: 60, provider: { url: "http://p" } }, "ci"));
      const saved = await store.config(key("a"));
      expect(saved).toMatchObject({ project: P, environment: "a", config: { interval_seconds: 60, provider: { url: "http://p" } }, updated_by: "ci", last_rollout: null, last_window_end: null, consecutive_errors: 0 });
      expect(saved!.updated_at).toBeInstanceOf(Date);
      expect(await store.claim(key("a"), { lastRollout: null, lastWindowEnd: null }, { rolloutId: "ro_1", windowEnd: new Date("2026-01-01T00:01:00Z") })).toBe(true);
      await run((tx) => store.saveConfig(tx, key("a"), { interval_seconds: 120 }, "oncall"));
      expect(await store.config(key("a"))).toMatchObject({ config: { interval_seconds: 120 }, updated_by: "oncall", last_rollout: "ro_1", last_window_end: new Date("2026-01-01T00:01:00Z") });
      expect(await run((tx) => store.deleteConfig(tx, key("a")))).toBe(true);
      expect(await run((tx) => store.deleteConfig(tx, key("a")))).toBe(false);
      expect(await store.config(key("a"))).toBeUndefined();
    });

    it("reads its own save inside the transaction and keeps nothing of a transaction that throws", async () => {
      await expect(
        run(async (tx) => {
          await store.saveConfig(tx, key("d"), { x: 1 }, "ci");
          expect((await store.config(key("d"), tx))?.config).toEqual({ x: 1 });
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await store.config(key("d"))).toBeUndefined();
    });

    it("lists the configs of the given environments by environment, up to the limit", async () => {
      for (const env of ["c", "b", "a"]) await run((tx) => store.saveConfig(tx, key(env), { env }, "ci"));
      expect((await store.configsOf([key("c"), key("a"), key("b")], 10)).map((c) => c.environment)).toEqual(["a", "b", "c"]);
      expect((await store.configsOf([key("c"), key("b")], 1)).map((c) => c.environment)).toEqual(["b"]);
      expect(await store.configsOf([], 10)).toEqual([]);
      expect(await store.configsOf([{ project: "other", environment: "a" }], 10)).toEqual([]);
    });

    it("moves the claim only from where it was seen; a new rollout resets the error count", async () => {
      const w1 = new Date("2026-01-01T00:01:00Z");
      const w2 = new Date("2026-01-01T00:02:00Z");
      expect(await store.claim(key("b"), { lastRollout: null, lastWindowEnd: null }, { rolloutId: "ro_1", windowEnd: w1 })).toBe(true);
      // A second instance that read the same state loses.
      expect(await store.claim(key("b"), { lastRollout: null, lastWindowEnd: null }, { rolloutId: "ro_1", windowEnd: w1 })).toBe(false);
      expect(await store.countRun(key("b"), "ro_1", true)).toBe(1);
      expect(await store.countRun(key("b"), "ro_1", true)).toBe(2);
      expect(await store.claim(key("b"), { lastRollout: "ro_1", lastWindowEnd: w1 }, { rolloutId: "ro_1", windowEnd: w2 })).toBe(true);
      expect((await store.config(key("b")))?.consecutive_errors).toBe(2);
      expect(await store.countRun(key("b"), "ro_1", false)).toBe(0);
      expect(await store.countRun(key("b"), "ro_1", true)).toBe(1);
      expect(await store.claim(key("b"), { lastRollout: "ro_1", lastWindowEnd: w2 }, { rolloutId: "ro_2", windowEnd: w2 })).toBe(true);
      expect((await store.config(key("b")))?.consecutive_errors).toBe(0);
      // Counting for a rollout the claim moved away from, or without a config, counts nothing.
      expect(await store.countRun(key("b"), "ro_1", true)).toBeUndefined();
      expect(await store.countRun(key("zz"), "ro_1", true)).toBeUndefined();
      expect(await store.claim(key("zz"), { lastRollout: null, lastWindowEnd: null }, { rolloutId: "ro_1", windowEnd: w1 })).toBe(false);
    });

    it("records runs with every field and lists them newest first, paged by seq", async () => {
      const first = await store.insertRun(key("c"), newRun({ errors: [{ side: "stable", key: "requests", kind: "timeout", message: "slow" }] }));
      expect(first).toMatchObject({
        project: P,
        environment: "c",
        rollout_id: "ro_1",
        window_start: new Date("2026-01-01T00:00:00Z"),
        window_end: new Date("2026-01-01T00:01:00Z"),
        status: "ok",
        duration_ms: 13,
        errors: [{ side: "stable", key: "requests", kind: "timeout", message: "slow" }],
        warnings: ["w"],
        notes: ["n"],
        observations: { stable: "ob_1" },
        action: null,
      });
      expect(first.created_at).toBeInstanceOf(Date);
      const second = await store.insertRun(key("c"), newRun({ status: "failed", action: "paused", durationMs: -1 }));
      expect(second.duration_ms).toBe(0);
      await store.insertRun(key("b"), newRun());
      expect((await store.runs(key("c"), { limit: 10 })).map((r) => r.seq)).toEqual([second.seq, first.seq]);
      expect((await store.runs(key("c"), { limit: 10, before: second.seq })).map((r) => r.seq)).toEqual([first.seq]);
      expect((await store.runs(key("c"), { limit: 1 })).map((r) => r.status)).toEqual(["failed"]);
      expect(await store.runs(key("d"), { limit: 10 })).toEqual([]);
    });
  });
}
