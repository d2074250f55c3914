/**
 * Issue 18: a blob linked or re-uploaded during a collection is never lost, and a set deployed
 * during one never pins a retired version. Each case runs a collection with a hook at one step
 * of the mark/sweep (src/gc/collector.ts) and does the competing request there. At the steps
 * where the collector holds the rows locked (claim_locked, sweep_locked, bytes_deleted), the
 * request is started and, on Postgres, the test waits until it is blocked on the lock before
 * the collector goes on; elsewhere the request runs to its end first.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobKey } from "../../src/blobs/keys.js";
import type { GcStep } from "../../src/gc/collector.js";
import { gcFixtures } from "../support/gc.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const LOCKED_STEPS: ReadonlySet<GcStep> = new Set(["claim_locked", "sweep_locked", "bytes_deleted", "retire_locked"]);
const SWEEP_STEPS: GcStep[] = ["marked", "claim_locked", "claimed", "sweep_locked", "bytes_deleted", "swept"];

/** What a publish referencing the blob may answer at each step (201: published and kept; 422: the bytes were already gone). */
const PUBLISH_OUTCOMES: Record<string, number[]> = {
  marked: [201],
  claim_locked: [201, 422],
  claimed: [201],
  sweep_locked: [422],
  bytes_deleted: [422],
  swept: [422],
};

describe.each(backends())("collection racing publishes, uploads and deploys on $name", (backend) => {
  let t: TestApp;
  let f: ReturnType<typeof gcFixtures>;
  let onStep: ((step: GcStep) => Promise<void>) | undefined;
  let n = 0;
  beforeAll(async () => {
    t = await startTestApp(backend, { gc: { hook: async (step) => onStep?.(step) } });
    f = gcFixtures(t);
  });
  afterAll(async () => t?.close());

  /** On Postgres: until some statement of this database waits for a lock (the competing request), or it finished. */
  async function untilBlocked(done: () => boolean): Promise<void> {
    if (backend.database !== "postgres") return;
    const deadline = Date.now() + 5_000;
    while (!done() && Date.now() < deadline) {
      const waiting = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(
        t.db.handle.db,
      );
      if (Number(waiting.rows[0]!.n) > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Runs a collection of `project` with `compete` started at `at`; returns what compete answered. */
  async function collectWith<T>(project: string, at: GcStep, compete: () => Promise<T>): Promise<T> {
    let result: Promise<T> | undefined;
    onStep = async (step) => {
      if (step !== at || result) return;
      let finished = false;
      result = compete().finally(() => (finished = true));
      if (LOCKED_STEPS.has(step)) await untilBlocked(() => finished);
      else await result;
    };
    try {
      await f.runGc({ project });
    } finally {
      onStep = undefined;
    }
    expect(result, `the collection reached ${at}`).toBeDefined();
    return result!;
  }

  /** Nothing a reader may see lost its bytes: every blob row not claimed has its object in the store. */
  async function everyLiveRowHasBytes(): Promise<void> {
    const rows = await t.db.handle.db.selectFrom("blobs").select("digest").where("gc_claimed_at", "is", null).execute();
    for (const r of rows) expect(await t.blobStore.head(blobKey(r.digest)), r.digest).toBeDefined();
  }

  async function collectableBlob() {
    const project = `race-${++n}`;
    await f.project(project);
    const blob = await f.upload(project);
    await f.ageBlob(blob.digest, 48);
    return { project, blob };
  }

  it.each(SWEEP_STEPS)("a publish referencing the blob at step %s: published and kept, or refused with 422 and nothing references it", async (step) => {
    const { project, blob } = await collectableBlob();
    const res = await collectWith(project, step, () => f.publishRaw(project, "kb", [blob]));
    const body = (await res.json()) as { version?: number; errors?: Array<{ message: string }> };
    expect(PUBLISH_OUTCOMES[step], JSON.stringify(body)).toContain(res.status);
    await everyLiveRowHasBytes();
    if (res.status === 201) {
      await f.readsBack(project, blob);
      // Referenced by a live version now: the next collection keeps it whatever its age.
      await f.ageBlob(blob.digest, 48);
      await f.runGc({ project });
      await f.readsBack(project, blob);
    } else {
      expect(body.errors?.[0]?.message).toMatch(/collected by garbage collection|is not uploaded to this project/);
      expect((await t.request("GET", `/v1/projects/${project}/artifacts/index/kb`)).status).toBe(404);
      expect((await f.put(project, blob.data)).status).toBe(201);
      expect((await f.publishRaw(project, "kb", [blob])).status).toBe(201);
      await f.readsBack(project, blob);
    }
  });

  it.each(SWEEP_STEPS)("an upload of the same bytes at step %s is never lost", async (step) => {
    const { project, blob } = await collectableBlob();
    const res = await collectWith(project, step, () => f.put(project, blob.data));
    expect([200, 201]).toContain(res.status);
    await everyLiveRowHasBytes();
    await f.readsBack(project, blob);
    // Uploaded just now: within the grace period, the next collection keeps it.
    await f.runGc({ project });
    await f.readsBack(project, blob);
  });

  it.each(SWEEP_STEPS)("another project uploading the same bytes at step %s keeps them (for itself)", async (step) => {
    const { project, blob } = await collectableBlob();
    const other = `${project}-other`;
    await f.project(other);
    const res = await collectWith(project, step, () => f.put(other, blob.data));
    expect([200, 201]).toContain(res.status);
    await everyLiveRowHasBytes();
    await f.readsBack(other, blob);
  });

  it.each(["marked", "retire_locked", "retired"] as GcStep[])("a deploy of a set pinning a retirable version at step %s: deployed and kept, or 410 and retired", async (step) => {
    const project = `race-${++n}`;
    await f.project(project);
    await f.env(project, "prod");
    const kept = await f.upload(project);
    const old = await f.upload(project);
    const active = await f.set(project, { kb: `index/kb@${await f.publish(project, "kb", [kept])}` });
    const candidate = await f.set(project, { kb: `index/kb@${await f.publish(project, "kb", [old])}` });
    expect((await f.deploy(project, "prod", active)).status).toBe(200);
    await t.request("PUT", `/v1/projects/${project}/retention`, { body: { days: 0, keep_last: 1 } });
    await f.age(project, 3);
    const res = await collectWith(project, step, () => f.deploy(project, "prod", candidate));
    const retired = await t.db.handle.db.selectFrom("artifacts").select("retired_at").where("project", "=", project).where("version", "=", 2).executeTakeFirstOrThrow();
    await everyLiveRowHasBytes();
    if (step === "marked") expect(res.status).toBe(200);
    else expect(res.status).toBe(410);
    if (res.status === 200) {
      expect(retired.retired_at).toBeNull();
      await f.readsBack(project, old);
      expect((await t.request("GET", `/v1/projects/${project}/environments/prod/resolve`)).status).toBe(200);
    } else {
      expect(retired.retired_at).not.toBeNull();
      expect(((await res.json()) as { detail: string }).detail).toContain("index/kb@2");
      expect(((await (await t.request("GET", `/v1/projects/${project}/environments/prod`)).json()) as { active: string }).active).toBe(active);
    }
    await f.readsBack(project, kept);
  });
});
