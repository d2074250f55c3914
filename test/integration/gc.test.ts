/**
 * Issue 18: retention and reference-aware garbage collection. On PGlite + filesystem and on
 * Postgres + S3 (s3rver): what is reachable keeps its bytes (read back by digest), what is not
 * is gone from the store itself (directory / bucket listing), retired versions answer 410.
 */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GcStep } from "../../src/gc/collector.js";
import { gcFixtures } from "../support/gc.js";
import { createToken } from "../support/tokens.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

describe.each(backends())("garbage collection on $name", (backend) => {
  let t: TestApp;
  let f: ReturnType<typeof gcFixtures>;
  let onStep: ((step: GcStep) => Promise<void>) | undefined;
  beforeAll(async () => {
    t = await startTestApp(backend, { gc: { hook: async (step) => onStep?.(step) } });
    f = gcFixtures(t);
  });
  afterAll(async () => t?.close());

  it("retention: defaults, partial updates, 422 out of range with nothing changed, 400 for non-integers, admin only", async () => {
    await f.project("ret");
    expect(await (await t.request("GET", "/v1/projects/ret/retention")).json()).toEqual({ days: 90, keep_last: 20 });
    const put = (body: unknown, token?: string) => t.request("PUT", "/v1/projects/ret/retention", { body, ...(token ? { token } : {}) });
    expect(await (await put({ days: 7 })).json()).toEqual({ days: 7, keep_last: 20 });
    expect(await (await put({ keep_last: 3 })).json()).toEqual({ days: 7, keep_last: 3 });
    expect(await (await put({ days: 0 })).json()).toEqual({ days: 0, keep_last: 3 });
    for (const [body, paths] of [
      [{ days: -1 }, ["body.days"]],
      [{ keep_last: 0 }, ["body.keep_last"]],
      [{ days: -5, keep_last: -1 }, ["body.days", "body.keep_last"]],
    ] as const) {
      const res = await put(body);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await res.json()) as { code: string; errors: Array<{ path: string }> };
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors.map((e) => e.path)).toEqual(paths);
    }
    for (const body of [{ days: 1.5 }, { keep_last: "3" }, { days: 1, extra: true }]) expect((await put(body)).status).toBe(400);
    const reader = await createToken(t, { scopes: ["publish"], projects: ["ret"] });
    expect((await put({ days: 1 }, reader.token)).status).toBe(403);
    expect(await (await t.request("GET", "/v1/projects/ret/retention", { token: reader.token })).json()).toEqual({ days: 0, keep_last: 3 });
    expect((await t.request("PUT", "/v1/projects/nope/retention", { body: { days: 1 } })).status).toBe(404);
  });

  it("keeps what is reachable and collects the rest: dry run first, then the real run, then 410 for what was retired", async () => {
    await f.project("keep");
    await f.project("other");
    const [a, b, c, s, fblob, g] = await Promise.all(Array.from({ length: 6 }, () => f.upload("keep")));
    await f.upload("other", s!.data);
    const v1 = await f.publish("keep", "kb", [b!, c!, s!]);
    const v2 = await f.publish("keep", "kb", [fblob!]);
    const v3 = await f.publish("keep", "kb", [a!, c!]);
    await f.publish("keep", "loose", [g!]);
    const [s1, s2, s3] = [await f.set("keep", { kb: `index/kb@${v1}` }), await f.set("keep", { kb: `index/kb@${v2}` }), await f.set("keep", { kb: `index/kb@${v3}` })];
    await f.env("keep", "prod");
    await f.env("keep", "staging");
    for (const set of [s1, s2, s3]) expect((await f.deploy("keep", "prod", set)).status).toBe(200);
    expect(await (await t.request("PUT", "/v1/projects/keep/retention", { body: { days: 30, keep_last: 1 } })).json()).toEqual({ days: 30, keep_last: 1 });
    await f.age("keep", 100);
    // The change to s3 (from s2) happened yesterday: both are in the window.
    await sql`update environment_history set at = now() - interval '1 day' where project = 'keep' and environment = 'prod' and version_set = ${s3}`.execute(t.db.handle.db);
    const d = await f.upload("keep");
    await f.ageBlob(d.digest, 25);
    const e = await f.upload("keep");
    const h = await f.upload("keep");
    await f.publish("keep", "young", [h]);
    const other = await f.upload("other");
    await f.publish("other", "shared", [s!, other]);

    const collectable = [b!, d, g!].map((x) => x.digest);
    const kept = [a!, c!, s!, fblob!, e, h];
    const bytesOf = (xs: Array<{ data: Uint8Array }>) => xs.reduce((n, x) => n + x.data.byteLength, 0);

    const dry = await f.runGc({ dry_run: true, project: "keep" });
    expect(dry.state).toBe("finished");
    expect(dry.report.total).toEqual({ retired_versions: 2, blobs: 3, bytes: bytesOf([b!, d, g!]) });
    expect(dry.report.projects).toEqual([{ project: "keep", retired_versions: 2, blobs: 3, bytes: bytesOf([b!, d, g!]) }]);
    const beforeRun = await f.storedDigests();
    for (const digest of [...collectable, ...kept.map((x) => x.digest)]) expect(beforeRun.has(digest)).toBe(true);
    expect((await t.request("GET", `/v1/projects/keep/artifacts/index/kb/versions/${v1}`)).status).toBe(200);

    const run = await f.runGc({ project: "keep" });
    expect(run.report.total).toEqual({ retired_versions: 2, blobs: 3, bytes: bytesOf([b!, d, g!]) });
    const stored = await f.storedDigests();
    for (const digest of collectable) expect(stored.has(digest), digest).toBe(false);
    for (const x of kept) {
      expect(stored.has(x.digest)).toBe(true);
      await f.readsBack("keep", x);
    }
    await f.readsBack("other", s!);

    // The retired versions stay listed, with retired_at; their blobs answer 410 naming them.
    const listed = (await (await t.request("GET", "/v1/projects/keep/artifacts/index/kb")).json()) as { items: Array<{ version: number; retired_at?: string }> };
    expect(listed.items.map((i) => [i.version, typeof i.retired_at])).toEqual([[v3, "undefined"], [v2, "undefined"], [v1, "string"]]);
    const gone = await t.request("GET", `/v1/projects/keep/blobs/${b!.digest}`);
    expect(gone.status).toBe(410);
    expect(gone.headers.get("content-type")).toContain("application/problem+json");
    expect(await gone.json()).toMatchObject({ code: "gone", status: 410, detail: expect.stringContaining(`index/kb@${v1}`) });
    expect((await t.request("HEAD", `/v1/projects/keep/blobs/${g!.digest}`)).status).toBe(410);
    expect((await t.request("GET", `/v1/projects/keep/blobs/${d.digest}`)).status).toBe(404);

    // Resolving or deploying a set that pins a retired version: 410 naming the version; nothing changes.
    const bundle = await t.request("GET", `/v1/projects/keep/version-sets/${s1}/bundle`);
    expect(bundle.status).toBe(410);
    expect(((await bundle.json()) as { detail: string }).detail).toContain(`index/kb@${v1}`);
    const deploy = await f.deploy("keep", "staging", s1);
    expect(deploy.status).toBe(410);
    expect(((await deploy.json()) as { detail: string }).detail).toContain(`index/kb@${v1}`);
    expect(((await (await t.request("GET", "/v1/projects/keep/environments/staging")).json()) as { active: string | null }).active).toBeNull();
    const rollback = await t.request("POST", "/v1/projects/keep/environments/prod/rollback", { body: { to: s1 } });
    expect(rollback.status).toBe(410);
    const pin = await t.request("POST", "/v1/projects/keep/version-sets", { body: { components: { kb: `index/kb@${v1}`, x: `index/young@1` } } });
    expect(pin.status).toBe(410);
    // What was kept still deploys and resolves.
    expect((await f.deploy("keep", "staging", s2)).status).toBe(200);
    expect((await t.request("GET", "/v1/projects/keep/environments/staging/resolve")).status).toBe(200);

    // Nothing is left to do; a re-upload of collected bytes stores them again.
    const again = await f.runGc({ project: "keep" });
    expect(again.report.total).toEqual({ retired_versions: 0, blobs: 0, bytes: 0 });
    expect((await f.put("keep", d.data)).status).toBe(201);
    await f.readsBack("keep", d);

    const runs = (await (await t.request("GET", "/v1/admin/gc/runs?limit=3")).json()) as { items: Array<{ id: string; dry_run: boolean; state: string }> };
    expect(runs.items.map((r) => [r.id, r.dry_run, r.state])).toEqual([[again.id, false, "finished"], [run.id, false, "finished"], [dry.id, true, "finished"]]);
  });

  it("keep_last keeps the last sets of each environment whatever their age: rollback --to within that depth works after a run", async () => {
    await f.project("depth");
    await f.env("depth", "prod");
    const blobs = await Promise.all(Array.from({ length: 4 }, () => f.upload("depth")));
    const sets: string[] = [];
    for (const [i, blob] of blobs.entries()) {
      const v = await f.publish("depth", "kb", [blob]);
      sets.push(await f.set("depth", { kb: `index/kb@${v}` }));
      expect((await f.deploy("depth", "prod", sets[i]!)).status).toBe(200);
    }
    await t.request("PUT", "/v1/projects/depth/retention", { body: { days: 0, keep_last: 2 } });
    await f.age("depth", 10);
    const run = await f.runGc({ project: "depth" });
    expect(run.report.total.retired_versions).toBe(2);
    const stored = await f.storedDigests();
    expect(blobs.map((b) => stored.has(b.digest))).toEqual([false, false, true, true]);
    expect((await t.request("POST", "/v1/projects/depth/environments/prod/rollback", { body: { to: sets[2] } })).status).toBe(200);
    await f.readsBack("depth", blobs[2]!);
    expect((await t.request("POST", "/v1/projects/depth/environments/prod/rollback", { body: { to: sets[1] } })).status).toBe(410);
  });

  it("a version outside retention but newer than the grace period is kept even with days 0", async () => {
    await f.project("fresh");
    const blob = await f.upload("fresh");
    await f.publish("fresh", "kb", [blob]);
    await t.request("PUT", "/v1/projects/fresh/retention", { body: { days: 0 } });
    const run = await f.runGc({ project: "fresh" });
    expect(run.report.total).toEqual({ retired_versions: 0, blobs: 0, bytes: 0 });
    await f.readsBack("fresh", blob);
  });

  it("403 for a token without admin (also naming its own project); 404 for an unknown project; 400 for a bad body", async () => {
    await f.project("authz");
    const publisher = await createToken(t, { scopes: ["publish", "deploy"], projects: ["*"] });
    const res = await f.gc({ dry_run: true }, publisher.token);
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect((await t.request("GET", "/v1/admin/gc/runs", { token: publisher.token })).status).toBe(403);
    const projectPublisher = await createToken(t, { scopes: ["publish"], projects: ["authz"] });
    expect((await f.gc({ dry_run: true, project: "authz" }, projectPublisher.token)).status).toBe(403);
    expect((await f.gc({ dry_run: true, project: "authz" })).status).toBe(200);
    expect((await f.gc({ dry_run: true, project: "no-such" })).status).toBe(404);
    expect((await f.gc({ dry_run: "yes" } as never)).status).toBe(400);
    expect((await t.request("POST", "/v1/admin/gc", { body: {}, token: null })).status).toBe(401);
  });

  it("two collections at once: the second answers 409 gc_running, and runs again once the first finished", async () => {
    await f.project("busy");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const atMark = new Promise<void>((resolve) => (reached = resolve));
    onStep = async (step) => {
      if (step !== "marked") return;
      onStep = undefined;
      reached();
      await held;
    };
    const first = f.gc({ project: "busy" });
    await atMark;
    const second = await f.gc({ dry_run: true });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ code: "gc_running", status: 409 });
    release();
    expect((await first).status).toBe(200);
    expect((await f.gc({ dry_run: true, project: "busy" })).status).toBe(200);
  });

  it("prunes delivered webhook outbox rows and delivery attempts older than 30 days; pending rows and the audit log stay", async () => {
    await f.project("hooks");
    const db = t.db.handle.db;
    await db.insertInto("webhooks").values({ id: `wh_${"a".repeat(24)}`, project: "hooks", url: "https://example.test/x", events: ["artifact.published"], secret: "s3cret-s3cret-s3cret" }).execute();
    const row = (id: string, state: "pending" | "delivered", days: number) => ({
      id,
      webhook_id: `wh_${"a".repeat(24)}`,
      project: "hooks",
      event: "artifact.published",
      body: "{}",
      state,
      finished_at: sql<Date>`now() - make_interval(days => ${days})`,
    });
    await db.insertInto("webhook_outbox").values([row("old-delivered", "delivered", 40), row("new-delivered", "delivered", 5), row("old-pending", "pending", 40)] as never).execute();
    await db
      .insertInto("webhook_attempts")
      .values([
        { id: "at-1", delivery_id: "old-delivered", webhook_id: `wh_${"a".repeat(24)}`, event: "artifact.published", attempt: 1, duration_ms: 3, at: sql<Date>`now() - interval '40 days'` },
        { id: "at-2", delivery_id: "old-pending", webhook_id: `wh_${"a".repeat(24)}`, event: "artifact.published", attempt: 1, duration_ms: 3, at: sql<Date>`now() - interval '40 days'` },
        { id: "at-3", delivery_id: "old-pending", webhook_id: `wh_${"a".repeat(24)}`, event: "artifact.published", attempt: 2, duration_ms: 3 },
        { id: "at-4", delivery_id: "new-delivered", webhook_id: `wh_${"a".repeat(24)}`, event: "artifact.published", attempt: 1, duration_ms: 3 },
      ] as never)
      .execute();
    await sql`update audit_log set at = now() - interval '400 days' where project = 'hooks'`.execute(db);
    const oldAudit = () => db.selectFrom("audit_log").select("seq").where("project", "=", "hooks").orderBy("seq").execute();
    const audit = await oldAudit();
    expect(audit.length).toBeGreaterThan(0);

    const dry = await f.runGc({ dry_run: true, project: "hooks" });
    expect(dry.report.housekeeping).toEqual({ outbox_rows: 0, attempts: 0 });
    const run = await f.runGc({ project: "hooks" });
    expect(run.report.housekeeping).toEqual({ outbox_rows: 1, attempts: 2 });
    expect((await db.selectFrom("webhook_outbox").select("id").orderBy("id").execute()).map((r) => r.id)).toEqual(["new-delivered", "old-pending"]);
    expect((await db.selectFrom("webhook_attempts").select("id").orderBy("id").execute()).map((r) => r.id)).toEqual(["at-3", "at-4"]);
    expect(await oldAudit()).toEqual(audit);
  });

  it("/metrics: pinset_gc_runs_total, pinset_gc_bytes_freed_total and pinset_blob_store_bytes per project from the database", async () => {
    await f.project("metered");
    const kept = await f.upload("metered", randomBytes(3000));
    const dropped = await f.upload("metered", randomBytes(5000));
    await f.ageBlob(dropped.digest, 48);
    const scrape = async () => (await (await fetch(`${t.url}/metrics`)).text()).split("\n");
    const value = (lines: string[], prefix: string) => Number(lines.find((l) => l.startsWith(prefix))?.split(" ").pop());
    const before = await scrape();
    expect(value(before, 'pinset_blob_store_bytes{project="metered"}')).toBe(8000);
    const freedBefore = value(before, "pinset_gc_bytes_freed_total") || 0;
    const runsBefore = value(before, 'pinset_gc_runs_total{dry_run="false",outcome="finished"}') || 0;
    await f.runGc({ project: "metered" });
    const after = await scrape();
    expect(value(after, "pinset_gc_bytes_freed_total") - freedBefore).toBe(5000);
    expect(value(after, 'pinset_gc_runs_total{dry_run="false",outcome="finished"}') - runsBefore).toBe(1);
    expect(value(after, 'pinset_blob_store_bytes{project="metered"}')).toBe(3000);
    await f.readsBack("metered", kept);
  });
});
