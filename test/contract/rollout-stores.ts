import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/core/errors.js";
import type { Tx } from "../../src/core/transaction.js";
import { StaleRolloutError, type NewObservation, type NewRollout, type RolloutStores } from "../../src/rollouts/ports.js";
import type { OpenStores, StoreBackend } from "../support/store-backends.js";

/** The rollouts domain's stores, plus the rows of other domains their foreign keys need (a no-op in memory). */
export interface RolloutContractStores extends RolloutStores {
  seed(project: string, environments: string[], versionSets: string[]): Promise<void>;
}

const P = "proj";
const hex = (prefix: string, n: number) => `${prefix}_${n.toString(16).padStart(24, "0")}`;
const VS = [hex("vs", 1), hex("vs", 2), hex("vs", 3)];
const ro = (n: number) => hex("ro", n);
const ob = (n: number) => hex("ob", n);

function newRollout(n: number, over: Partial<NewRollout> = {}): NewRollout {
  return { id: ro(n), stable: VS[0]!, candidate: VS[1]!, basisPoints: 1000, allow: [], auto: false, revision: n, createdBy: "ci", ...over };
}

function newObservation(n: number, rolloutId: string, over: Partial<NewObservation> = {}): NewObservation {
  return {
    id: ob(n),
    rolloutId,
    versionSet: VS[1]!,
    side: "candidate",
    windowStart: new Date("2026-01-01T00:00:00Z"),
    windowEnd: new Date("2026-01-01T00:01:00Z"),
    metrics: { error_rate: 0.01, latency: { p95_ms: { count: 3 } } },
    sampleTraceIds: [],
    source: "push",
    queries: null,
    createdBy: "ci",
    traceId: "t",
    ...over,
  };
}

/**
 * The behaviour of RolloutStore, ObservationStore, GatePolicyStore and EvidenceStore: run on
 * PGlite, Postgres and the memory fakes. Row locks and concurrent steps are not part of it (the
 * fakes run transactions one at a time): test/integration/rollouts*.test.ts cover those on SQL.
 */
export function rolloutStoresContract(backend: StoreBackend<RolloutContractStores>) {
  describe(`rollouts stores contract: ${backend.name}`, () => {
    let open: OpenStores<RolloutContractStores>;
    let s: RolloutContractStores;
    const run = <T>(work: (tx: Tx) => Promise<T>): Promise<T> => open.transactions.run(work);
    beforeAll(async () => {
      open = await backend.open();
      s = open.stores;
      await s.seed(P, ["a", "b", "c", "d", "e", "f", "g"], VS);
    });
    afterAll(async () => open?.close());

    describe("RolloutStore", () => {
      it("inserts a running rollout whose creation, update and step start are one instant", async () => {
        const row = await run((tx) => s.rollouts.insert(tx, { project: P, environment: "a" }, newRollout(1, { allow: ["alice"], auto: true })));
        expect(row).toMatchObject({ project: P, id: ro(1), environment: "a", stable: VS[0], candidate: VS[1], basis_points: 1000, allow: ["alice"], state: "running", auto: true, revision: 1, evidence_count: 0, created_by: "ci", ended_at: null, resumed_at: null });
        expect(row.created_at).toBeInstanceOf(Date);
        expect(row.step_started_at.getTime()).toBe(row.created_at.getTime());
        expect(row.updated_at.getTime()).toBe(row.created_at.getTime());
        expect(await s.rollouts.find(P, ro(1))).toEqual(row);
        expect(await s.rollouts.live({ project: P, environment: "a" })).toEqual(row);
        expect(await s.rollouts.latest({ project: P, environment: "a" })).toEqual(row);
      });

      it("refuses a second live rollout in one environment with a ConflictError", async () => {
        await expect(run((tx) => s.rollouts.insert(tx, { project: P, environment: "a" }, newRollout(2)))).rejects.toBeInstanceOf(ConflictError);
        expect(await s.rollouts.find(P, ro(2))).toBeUndefined();
      });

      it("finds nothing for unknown ids or environments; findMany leaves missing ids out", async () => {
        expect(await s.rollouts.find(P, ro(99))).toBeUndefined();
        expect(await s.rollouts.find("other", ro(1))).toBeUndefined();
        expect(await s.rollouts.live({ project: P, environment: "zz" })).toBeUndefined();
        expect(await s.rollouts.latest({ project: P, environment: "zz" })).toBeUndefined();
        expect((await s.rollouts.findMany(P, [ro(1), ro(99)])).map((r) => r.id)).toEqual([ro(1)]);
        expect(await s.rollouts.findMany(P, [])).toEqual([]);
      });

      it("updates by compare-and-set on the revision: a stale revision throws StaleRolloutError and changes nothing", async () => {
        const before = (await s.rollouts.find(P, ro(1)))!;
        const raised = await run((tx) => s.rollouts.update(tx, before, { basisPoints: 2500, revision: 2 }));
        expect(raised).toMatchObject({ basis_points: 2500, revision: 2, state: "running", ended_at: null });
        expect(raised.step_started_at.getTime()).toBeGreaterThanOrEqual(before.step_started_at.getTime());
        expect(raised.updated_at.getTime()).toBeGreaterThanOrEqual(before.updated_at.getTime());
        await expect(run((tx) => s.rollouts.update(tx, before, { state: "paused", revision: 3 }))).rejects.toBeInstanceOf(StaleRolloutError);
        expect(await s.rollouts.find(P, ro(1))).toEqual(raised);
      });

      it("pause keeps the step clock, resume sets resumed_at, promote ends the rollout without restarting the step clock", async () => {
        const at2 = (await s.rollouts.find(P, ro(1)))!;
        const paused = await run((tx) => s.rollouts.update(tx, at2, { state: "paused", revision: 3 }));
        expect(paused.step_started_at).toEqual(at2.step_started_at);
        expect(await s.rollouts.live({ project: P, environment: "a" })).toMatchObject({ state: "paused" });
        const resumed = await run((tx) => s.rollouts.update(tx, paused, { state: "running", revision: 4, resumed: true }));
        expect(resumed.resumed_at).toBeInstanceOf(Date);
        const promoted = await run((tx) => s.rollouts.update(tx, resumed, { state: "promoted", basisPoints: 10_000, revision: 5 }));
        expect(promoted).toMatchObject({ state: "promoted", basis_points: 10_000, revision: 5 });
        expect(promoted.ended_at).toBeInstanceOf(Date);
        expect(promoted.step_started_at).toEqual(resumed.step_started_at);
        expect(await s.rollouts.live({ project: P, environment: "a" })).toBeUndefined();
        expect(await s.rollouts.latest({ project: P, environment: "a" })).toEqual(promoted);
      });

      it("starts a new rollout once none is live; latest is the newest, aborted ones end", async () => {
        const second = await run((tx) => s.rollouts.insert(tx, { project: P, environment: "a" }, newRollout(3, { stable: VS[1]!, candidate: VS[2]! })));
        expect((await s.rollouts.latest({ project: P, environment: "a" }))!.id).toBe(second.id);
        const aborted = await run((tx) => s.rollouts.update(tx, second, { state: "aborted", revision: 6 }));
        expect(aborted.ended_at).toBeInstanceOf(Date);
        expect(aborted.basis_points).toBe(1000);
      });

      it("lists running rollouts (and running auto ones) oldest first, leaving paused and ended ones out", async () => {
        const b = await run((tx) => s.rollouts.insert(tx, { project: P, environment: "b" }, newRollout(4, { auto: true })));
        const c = await run((tx) => s.rollouts.insert(tx, { project: P, environment: "c" }, newRollout(5)));
        const d = await run((tx) => s.rollouts.insert(tx, { project: P, environment: "d" }, newRollout(6, { auto: true })));
        await run((tx) => s.rollouts.update(tx, d, { state: "paused", revision: 7 }));
        expect((await s.rollouts.running()).map((r) => r.id)).toEqual([b.id, c.id]);
        expect((await s.rollouts.runningAuto()).map((r) => r.id)).toEqual([b.id]);
      });

      it("shows per environment the newest rollout that is live or ended recently, by project then environment, up to the limit", async () => {
        const longAgo = new Date(Date.now() - 3_600_000);
        const recent = await s.rollouts.recentPerEnvironment(longAgo, 10);
        // a: the aborted second rollout (newest, ended just now); b, c live; d paused.
        expect(recent.map((r) => [r.environment, r.id])).toEqual([["a", ro(3)], ["b", ro(4)], ["c", ro(5)], ["d", ro(6)]]);
        expect((await s.rollouts.recentPerEnvironment(longAgo, 2)).map((r) => r.environment)).toEqual(["a", "b"]);
        const future = new Date(Date.now() + 3_600_000);
        expect((await s.rollouts.recentPerEnvironment(future, 10)).map((r) => r.environment)).toEqual(["b", "c", "d"]);
      });

      it("reserves evidence numbers one after another", async () => {
        expect(await s.rollouts.reserveEvidence(P, ro(1))).toBe(1);
        expect(await s.rollouts.reserveEvidence(P, ro(1))).toBe(2);
        expect((await s.rollouts.find(P, ro(1)))!.evidence_count).toBe(2);
      });

      it("sees its own insert inside the transaction, and keeps nothing of a transaction that throws", async () => {
        await expect(
          run(async (tx) => {
            await s.rollouts.insert(tx, { project: P, environment: "e" }, newRollout(7));
            expect((await s.rollouts.live({ project: P, environment: "e" }, tx))?.id).toBe(ro(7));
            expect((await s.rollouts.find(P, ro(7), tx))?.id).toBe(ro(7));
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect(await s.rollouts.find(P, ro(7))).toBeUndefined();
        expect(await s.rollouts.live({ project: P, environment: "e" })).toBeUndefined();
      });
    });

    describe("ObservationStore", () => {
      const key = { project: P, environment: "f" };
      beforeAll(async () => {
        await run((tx) => s.rollouts.insert(tx, key, newRollout(10)));
        await run((tx) => s.rollouts.insert(tx, { project: P, environment: "g" }, newRollout(11)));
      });

      it("round-trips every field, JSON columns included", async () => {
        const row = await run((tx) =>
          s.observations.insert(tx, key, newObservation(1, ro(10), { requests: 120, segments: { eu: 70, us: 50 }, sampleTraceIds: ["t1", "t2"], source: "prometheus", queries: { error_rate: "sum(rate(x[1m]))" } })),
        );
        expect(row).toMatchObject({
          project: P,
          id: ob(1),
          environment: "f",
          rollout_id: ro(10),
          version_set: VS[1],
          side: "candidate",
          metrics: { error_rate: 0.01, latency: { p95_ms: { count: 3 } } },
          requests: 120,
          segments: { eu: 70, us: 50 },
          sample_trace_ids: ["t1", "t2"],
          source: "prometheus",
          queries: { error_rate: "sum(rate(x[1m]))" },
          created_by: "ci",
          trace_id: "t",
        });
        expect(row.window_start).toEqual(new Date("2026-01-01T00:00:00Z"));
        expect(row.created_at).toBeInstanceOf(Date);
        const plain = await run((tx) => s.observations.insert(tx, key, newObservation(2, ro(10), { side: "stable", versionSet: VS[0]!, windowEnd: new Date("2026-01-01T00:03:00Z") })));
        expect(plain).toMatchObject({ requests: null, segments: null, queries: null, sample_trace_ids: [] });
      });

      it("gives a rollout's observations most recent window first, ties by most recently recorded", async () => {
        await run((tx) => s.observations.insert(tx, key, newObservation(3, ro(10), { sampleTraceIds: ["t2", "t3"] })));
        await run((tx) => s.observations.insert(tx, { project: P, environment: "g" }, newObservation(4, ro(11))));
        expect((await s.observations.ofRollout(P, ro(10))).map((o) => o.id)).toEqual([ob(2), ob(3), ob(1)]);
        expect(await s.observations.ofRollout(P, ro(99))).toEqual([]);
      });

      it("lists an environment's observations newest recorded first, paged by seq, optionally of one rollout", async () => {
        const all = await s.observations.list(key, { limit: 10 });
        expect(all.map((o) => o.id)).toEqual([ob(3), ob(2), ob(1)]);
        const page = await s.observations.list(key, { limit: 2 });
        expect((await s.observations.list(key, { limit: 10, before: page[1]!.seq })).map((o) => o.id)).toEqual([ob(1)]);
        expect(await s.observations.list(key, { limit: 10, rolloutId: ro(11) })).toEqual([]);
        expect((await s.observations.list({ project: P, environment: "g" }, { limit: 10, rolloutId: ro(11) })).map((o) => o.id)).toEqual([ob(4)]);
      });

      it("collects the candidate side's trace ids, oldest first, each once", async () => {
        expect(await s.observations.candidateTraceIds(P, ro(10))).toEqual(["t1", "t2", "t3"]);
        expect(await s.observations.candidateTraceIds(P, ro(11))).toEqual([]);
      });

      it("keeps nothing of a transaction that throws", async () => {
        await expect(
          run(async (tx) => {
            await s.observations.insert(tx, key, newObservation(5, ro(10)));
            expect((await s.observations.ofRollout(P, ro(10), tx)).map((o) => o.id)).toContain(ob(5));
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect((await s.observations.ofRollout(P, ro(10))).map((o) => o.id)).not.toContain(ob(5));
      });
    });

    describe("GatePolicyStore", () => {
      const key = { project: P, environment: "b" };

      it("has no policy until one is saved, then the saved JSON; a save replaces it", async () => {
        expect(await s.policies.find(key)).toBeUndefined();
        await run((tx) => s.policies.save(tx, key, { steps: [5, 25], metrics: { error_rate: { max: 0.02 } } }, "ci"));
        expect(await s.policies.find(key)).toEqual({ steps: [5, 25], metrics: { error_rate: { max: 0.02 } } });
        await run((tx) => s.policies.save(tx, key, { steps: [50] }, "oncall"));
        expect(await s.policies.find(key)).toEqual({ steps: [50] });
        expect(await s.policies.find({ project: P, environment: "c" })).toBeUndefined();
      });

      it("reads its own save inside the transaction, and keeps nothing of a transaction that throws", async () => {
        const other = { project: P, environment: "c" };
        await expect(
          run(async (tx) => {
            await s.policies.save(tx, other, { steps: [1] }, "ci");
            expect(await s.policies.find(other, tx)).toEqual({ steps: [1] });
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect(await s.policies.find(other)).toBeUndefined();
      });
    });

    describe("EvidenceStore", () => {
      const key = { project: P, environment: "f" };
      const pack = (id: string) => ({
        id,
        rolloutId: ro(10),
        trigger: "manual" as const,
        location: `reports/2026-01-01/${id}/`,
        files: [{ name: "rollout.json", digest: "sha256:ab", size: 10 }, { name: "manifest.json", digest: "sha256:cd", size: 20 }],
        manifestDigest: "sha256:cd",
        createdBy: "ci",
        traceId: null,
      });

      it("inserts a pack and finds it by id; another project sees nothing", async () => {
        const row = await run((tx) => s.evidence.insert(tx, key, pack(ro(10))));
        expect(row).toMatchObject({ project: P, id: ro(10), environment: "f", rollout_id: ro(10), trigger: "manual", manifest_digest: "sha256:cd", created_by: "ci", trace_id: null });
        expect(row.files).toEqual(pack(ro(10)).files);
        expect(row.created_at).toBeInstanceOf(Date);
        expect(await s.evidence.find(P, ro(10))).toEqual(row);
        expect(await s.evidence.find("other", ro(10))).toBeUndefined();
      });

      it("refuses a second pack with the same id (ConflictError)", async () => {
        await expect(run((tx) => s.evidence.insert(tx, key, pack(ro(10))))).rejects.toBeInstanceOf(ConflictError);
      });

      it("lists a rollout's packs oldest first", async () => {
        await run((tx) => s.evidence.insert(tx, key, pack(`${ro(10)}-2`)));
        expect((await s.evidence.ofRollout(P, ro(10))).map((e) => e.id)).toEqual([ro(10), `${ro(10)}-2`]);
        expect(await s.evidence.ofRollout(P, ro(11))).toEqual([]);
      });

      it("keeps nothing of a transaction that throws", async () => {
        await expect(
          run(async (tx) => {
            await s.evidence.insert(tx, key, pack(`${ro(10)}-3`));
            expect((await s.evidence.ofRollout(P, ro(10), tx)).length).toBe(3);
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect(await s.evidence.find(P, `${ro(10)}-3`)).toBeUndefined();
      });
    });
  });
}
