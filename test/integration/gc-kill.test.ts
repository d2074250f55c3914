/**
 * Issue 18: a collection killed half-way (kill -9) leaves nothing reachable damaged, and the
 * next run finishes the job. A separate process (test/support/gc-child.ts) runs the collection
 * on the test's Postgres database and filesystem store and stops dead at a step, in its second
 * batch (batches of 2); the test kills it with SIGKILL, checks every reachable blob, then runs
 * a collection itself. Postgres only: PGlite is one process's embedded database.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobKey } from "../../src/blobs/keys.js";
import type { GcStep } from "../../src/gc/collector.js";
import { POSTGRES_URL } from "../support/databases.js";
import { gcFixtures } from "../support/gc.js";
import { REPO_ROOT } from "../support/spawn-server.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const KILL_AT: Array<[GcStep, number]> = [
  ["retire_locked", 2],
  ["claimed", 2],
  ["sweep_locked", 2],
  ["bytes_deleted", 2],
];

describe.skipIf(!POSTGRES_URL)("a collection killed with SIGKILL (Postgres + filesystem)", () => {
  let t: TestApp;
  let f: ReturnType<typeof gcFixtures>;
  let n = 0;
  beforeAll(async () => {
    // A short lease: the next run takes over from the killed one after 1 s without a heartbeat.
    t = await startTestApp({ name: "postgres+fs", database: "postgres", blobs: "fs" }, { gc: { options: { leaseMs: 1_000 } } });
    f = gcFixtures(t);
  });
  afterAll(async () => t?.close());

  async function killedAt(step: GcStep, occurrence: number): Promise<string> {
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/gc-child.ts", t.databaseUrl!, t.blobDir!, step, String(occurrence)], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    const deadline = Date.now() + 60_000;
    while (!out.includes("HALTED") && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(out, err).toContain(`HALTED ${step}`);
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    return out;
  }

  it.each(KILL_AT)("killed at %s (occurrence %i): reachable blobs intact, the next run finishes", async (step, occurrence) => {
    const project = `killed-${++n}`;
    await f.project(project);
    await f.env(project, "prod");
    // Reachable: the active set's index. Retirable: 4 old versions (2 batches). Collectable: their blobs and 4 old uploads.
    const live = await Promise.all(Array.from({ length: 3 }, () => f.upload(project)));
    const old = await Promise.all(Array.from({ length: 4 }, () => f.upload(project)));
    const loose = await Promise.all(Array.from({ length: 4 }, () => f.upload(project)));
    for (const [i, blob] of old.entries()) await f.publish(project, `old-${i}`, [blob]);
    const active = await f.set(project, { kb: `index/kb@${await f.publish(project, "kb", live)}` });
    expect((await f.deploy(project, "prod", active)).status).toBe(200);
    await t.request("PUT", `/v1/projects/${project}/retention`, { body: { days: 1, keep_last: 1 } });
    await f.age(project, 5);

    await killedAt(step, occurrence);
    const db = t.db.handle.db;
    for (const blob of live) await f.readsBack(project, blob);
    // Whatever the kill left: a row that is not claimed has its bytes; a claimed one reads as gone, never as a 500.
    for (const blob of [...old, ...loose]) {
      const row = await db.selectFrom("blobs").select("gc_claimed_at").where("digest", "=", blob.digest).executeTakeFirst();
      if (row && row.gc_claimed_at === null) expect(await t.blobStore.head(blobKey(blob.digest)), blob.digest).toBeDefined();
      const res = await t.request("GET", `/v1/projects/${project}/blobs/${blob.digest}`);
      expect([200, 404, 410], blob.digest).toContain(res.status);
    }
    const stuck = await db.selectFrom("gc_runs").select(["id", "state"]).where("actor", "=", "gc-child").orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(stuck.state).toBe("running");

    // The next run takes over once the killed run's heartbeat is older than the lease (1 s here).
    await new Promise((r) => setTimeout(r, 1_200));
    const next = await f.runGc({});
    expect(next.state).toBe("finished");
    expect((await db.selectFrom("gc_runs").select("state").where("id", "=", stuck.id).executeTakeFirstOrThrow()).state).toBe("interrupted");
    const stored = await f.storedDigests();
    for (const blob of [...old, ...loose]) expect(stored.has(blob.digest), blob.digest).toBe(false);
    expect(await db.selectFrom("blobs").select("digest").where("digest", "in", [...old, ...loose].map((b) => b.digest)).execute()).toEqual([]);
    for (const blob of live) await f.readsBack(project, blob);
    const retired = await db.selectFrom("artifacts").select(["name", "retired_at"]).where("project", "=", project).orderBy("name").execute();
    expect(retired.map((r) => [r.name, r.retired_at !== null])).toEqual([["kb", false], ["old-0", true], ["old-1", true], ["old-2", true], ["old-3", true]]);
    for (const [i, blob] of old.entries()) {
      const res = await t.request("GET", `/v1/projects/${project}/blobs/${blob.digest}`);
      expect(res.status).toBe(410);
      expect(((await res.json()) as { detail: string }).detail).toContain(`index/old-${i}@1`);
    }
  });
});
