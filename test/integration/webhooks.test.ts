import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KyselyTransactions } from "../../src/db/transactions.js";
import type { Actor } from "../../src/core/actor.js";
import { exponentialBackoff } from "../../src/webhooks/backoff.js";
import { verifySignature } from "../../src/webhooks/signature.js";
import { content } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver on 127.0.0.1. `/<name>` answers the statuses scripted for `name` in turn
 * (the last one repeats; 204 when none is scripted).
 */
async function startReceiver() {
  const received: Received[] = [];
  const scripts = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      const script = scripts.get(path) ?? [204];
      const status = script.length > 1 ? script.shift()! : script[0]!;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (name: string) => `${base}/${name}`,
    script: (name: string, statuses: number[]) => scripts.set(`/${name}`, [...statuses]),
    at: (name: string) => received.filter((r) => r.path === `/${name}`),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fast enough for tests: retries after 150 ms and 300 ms, three attempts in all. */
const FAST = {
  schedule: exponentialBackoff({ baseMs: 150, maxAttempts: 3 }),
  pollIntervalMs: 40,
  timeoutMs: 2_000,
  leaseMs: 5_000,
};

const SECRET = "whsec-integration-0123456789abcdef";

describe.each(backends())("webhooks on $name", (backend) => {
  let t: TestApp;
  /** The instance running the delivery worker; `t` serves HTTP only, so tests can "restart" the worker. */
  let worker: TestApp | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const startWorker = async () => {
    worker = await startTestApp(backend, { sharedDatabaseOf: t, background: true, webhookDelivery: FAST });
    return worker;
  };

  const createWebhook = async (project: string, name: string, events: string[], secret = SECRET) => {
    const res = await t.request("POST", `/v1/projects/${project}/webhooks`, { body: { url: receiver.url(name), events, secret } });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(201);
    return body as { id: string; url: string; events: string[]; created_at: string };
  };

  const project = async (name: string) => expect((await t.request("PUT", `/v1/projects/${name}`)).status).toBe(201);

  const deliveries = async (projectName: string, id: string, query = "") => {
    const res = await t.request("GET", `/v1/projects/${projectName}/webhooks/${id}/deliveries${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { items: Array<Record<string, unknown>>; next_cursor: string | null };
  };

  const rowCount = async (table: "webhooks" | "webhook_outbox" | "audit_log") =>
    Number((await t.db.handle.db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestApp(backend);
    await startWorker();
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await receiver?.close();
  });

  it("creates a webhook and never shows its secret again", async () => {
    await project("wh-create");
    const hook = await createWebhook("wh-create", "create", ["artifact.published", "environment.changed"]);
    expect(Object.keys(hook).sort()).toEqual(["created_at", "events", "id", "url"]);
    expect(hook).toMatchObject({ url: receiver.url("create"), events: ["artifact.published", "environment.changed"] });

    const list = await (await t.request("GET", "/v1/projects/wh-create/webhooks")).json();
    expect(list).toEqual({ items: [hook], next_cursor: null });

    const audit = await t.db.handle.db.selectFrom("audit_log").selectAll().where("project", "=", "wh-create").where("action", "=", "webhook.create").execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target: `webhook/${hook.id}`, after: { origin: new URL(receiver.url("x")).origin, events: hook.events } });
    expect(JSON.stringify(audit)).not.toContain(SECRET);
    expect(t.logs.text).not.toContain(SECRET);
  });

  it("refuses bad input with 400 validation_failed and writes nothing", async () => {
    await project("wh-bad");
    const good = { url: receiver.url("bad"), events: ["artifact.published"], secret: SECRET };
    const cases: Array<[string, unknown, string]> = [
      ["ftp url", { ...good, url: "ftp://example.com/hook" }, "body.url"],
      ["javascript url", { ...good, url: "javascript:alert(1)" }, "body.url"],
      ["relative url", { ...good, url: "/hook" }, "body.url"],
      ["url with credentials", { ...good, url: "http://user:pw@127.0.0.1/hook" }, "body.url"],
      ["url too long", { ...good, url: `http://127.0.0.1/${"a".repeat(2040)}` }, "body.url"],
      ["url not a string", { ...good, url: 42 }, "body.url"],
      ["no events", { ...good, events: [] }, "body.events"],
      ["unknown event", { ...good, events: ["artifact.deleted"] }, "body.events.0"],
      ["repeated event", { ...good, events: ["artifact.published", "artifact.published"] }, "body.events"],
      ["secret too short", { ...good, secret: "x".repeat(15) }, "body.secret"],
      ["secret too long", { ...good, secret: "x".repeat(257) }, "body.secret"],
      ["missing secret", { url: good.url, events: good.events }, "body.secret"],
      ["unknown field", { ...good, active: true }, "body"],
    ];
    const before = { hooks: await rowCount("webhooks"), audit: await rowCount("audit_log") };
    for (const [label, body, path] of cases) {
      const res = await t.request("POST", "/v1/projects/wh-bad/webhooks", { body });
      const problem = await res.json();
      expect(res.status, label).toBe(400);
      expect(res.headers.get("content-type"), label).toContain("application/problem+json");
      expect(problem.code, label).toBe("validation_failed");
      expect(problem.errors.map((e: { path: string }) => e.path), label).toContain(path);
      expect(JSON.stringify(problem), label).not.toContain(SECRET);
    }
    const noBody = await t.request("POST", "/v1/projects/wh-bad/webhooks", { raw: "not json", headers: { "content-type": "application/json" } });
    expect(noBody.status).toBe(400);
    expect(await rowCount("webhooks")).toBe(before.hooks);
    expect(await rowCount("audit_log")).toBe(before.audit);

    // Exactly at the limits is fine.
    const url = `http://127.0.0.1/${"a".repeat(2048 - "http://127.0.0.1/".length)}`;
    expect((await t.request("POST", "/v1/projects/wh-bad/webhooks", { body: { url, events: ["artifact.published"], secret: "x".repeat(16) } })).status).toBe(201);
    expect((await t.request("POST", "/v1/projects/wh-bad/webhooks", { body: { ...good, secret: "y".repeat(256) } })).status).toBe(201);
    expect((await t.request("POST", "/v1/projects/nope/webhooks", { body: good })).status).toBe(404);
  });

  it("delivers a signed artifact.published after a publish, and nothing for an identical re-publish", async () => {
    await project("wh-artifact");
    const hook = await createWebhook("wh-artifact", "artifact", ["artifact.published"]);
    const other = await createWebhook("wh-artifact", "artifact-env-only", ["environment.changed"]);
    const published = await t.request("POST", "/v1/projects/wh-artifact/artifacts/config/app", { body: { content: content.config({ a: 1 }) } });
    expect(published.status).toBe(201);
    const artifact = await published.json();

    const [got] = await waitFor("the artifact delivery", () => receiver.at("artifact").length === 1 && receiver.at("artifact"));
    expect(got!.headers["content-type"]).toBe("application/json");
    expect(got!.headers["x-pinset-event"]).toBe("artifact.published");
    expect(verifySignature(SECRET, got!.body, got!.headers["x-pinset-signature"] as string)).toBe(true);
    expect(verifySignature("some-other-secret-000", got!.body, got!.headers["x-pinset-signature"] as string)).toBe(false);
    const payload = JSON.parse(got!.body);
    expect(payload).toEqual({ event: "artifact.published", project: "wh-artifact", at: expect.any(String), data: artifact });
    expect(Date.parse(payload.at)).not.toBeNaN();

    // The attempt is logged right after the receiver answered.
    const attempts = await waitFor("the attempt log", async () => {
      const page = await deliveries("wh-artifact", hook.id);
      return page.items.length > 0 && page;
    });
    expect(attempts.items).toEqual([
      { id: expect.any(String), delivery_id: got!.headers["x-pinset-delivery"], event: "artifact.published", status_code: 204, error: null, attempt: 1, at: expect.any(String) },
    ]);

    const again = await t.request("POST", "/v1/projects/wh-artifact/artifacts/config/app", { body: { content: content.config({ a: 1 }) } });
    expect(again.status).toBe(200);
    await sleep(300);
    expect(receiver.at("artifact")).toHaveLength(1);
    expect(receiver.at("artifact-env-only")).toHaveLength(0);
    expect((await deliveries("wh-artifact", other.id)).items).toEqual([]);
  });

  it("delivers environment.changed for a deploy and version_set.created for a new set", async () => {
    await project("wh-env");
    await createWebhook("wh-env", "env", ["environment.changed", "version_set.created"]);
    await t.request("POST", "/v1/projects/wh-env/artifacts/config/app", { body: { content: content.config({ b: 2 }) } });
    const created = await t.request("POST", "/v1/projects/wh-env/version-sets", { body: { components: { app: "config/app@1" } } });
    expect(created.status).toBe(201);
    const set = await created.json();
    const vs = await waitFor("version_set.created", () => receiver.at("env").find((r) => r.headers["x-pinset-event"] === "version_set.created"));
    expect(JSON.parse(vs.body)).toMatchObject({ event: "version_set.created", project: "wh-env", data: { id: set.id, components: set.components } });
    expect(verifySignature(SECRET, vs.body, vs.headers["x-pinset-signature"] as string)).toBe(true);

    expect((await t.request("PUT", "/v1/projects/wh-env/environments/prod")).status).toBe(201);
    const deploy = await t.request("POST", "/v1/projects/wh-env/environments/prod/deploy", { body: { version_set: set.id, reason: "ship it" } });
    expect(deploy.status).toBe(200);

    const env = await waitFor("environment.changed", () => receiver.at("env").find((r) => r.headers["x-pinset-event"] === "environment.changed"));
    expect(verifySignature(SECRET, env.body, env.headers["x-pinset-signature"] as string)).toBe(true);
    expect(JSON.parse(env.body)).toMatchObject({
      event: "environment.changed",
      project: "wh-env",
      data: { project: "wh-env", environment: "prod", revision: 1, active: set.id, previous: null, action: "deploy", reason: "ship it" },
    });

    // A change that rolls back enqueues nothing: the outbox row commits with the change or not at all.
    const db = t.db.handle.db;
    const actor: Actor = { name: "test deployer", tokenId: null, traceId: "trace-webhooks-1", clientAddress: null };
    const before = await rowCount("webhook_outbox");
    await expect(
      new KyselyTransactions(db).run(async (tx) => {
        await t.pinset.services.environmentChanges.apply(tx, actor, { project: "wh-env", environment: "prod", action: "deploy", active: set.id });
        throw new Error("abort the transaction");
      }),
    ).rejects.toThrow("abort the transaction");
    expect(await rowCount("webhook_outbox")).toBe(before);
  });

  it("retries a receiver that answers 500, then 200, and logs both attempts newest first", async () => {
    await project("wh-retry");
    receiver.script("retry", [500, 200]);
    const hook = await createWebhook("wh-retry", "retry", ["artifact.published"]);
    await t.request("POST", "/v1/projects/wh-retry/artifacts/config/app", { body: { content: content.config({ c: 3 }) } });

    const got = await waitFor("the retry", () => receiver.at("retry").length === 2 && receiver.at("retry"));
    expect(got[1]!.body).toBe(got[0]!.body);
    expect(got[1]!.headers["x-pinset-signature"]).toBe(got[0]!.headers["x-pinset-signature"]);
    expect(got[1]!.headers["x-pinset-delivery"]).toBe(got[0]!.headers["x-pinset-delivery"]);
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(140);

    const log = await waitFor("both attempts logged", async () => {
      const page = await deliveries("wh-retry", hook.id);
      return page.items.length === 2 && page;
    });
    expect(log.items.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
      [2, 200, null],
      [1, 500, "HTTP 500"],
    ]);
    const page1 = await deliveries("wh-retry", hook.id, "?limit=1");
    expect(page1.items.map((a) => a.attempt)).toEqual([2]);
    const page2 = await deliveries("wh-retry", hook.id, `?limit=1&cursor=${page1.next_cursor}`);
    expect(page2).toMatchObject({ items: [{ attempt: 1 }], next_cursor: null });
    expect(worker!.logs.text).toContain("webhook delivery failed; will retry");
  });

  it("gives up after the last attempt and marks the delivery failed", async () => {
    await project("wh-dead");
    receiver.script("dead", [503]);
    const hook = await createWebhook("wh-dead", "dead", ["artifact.published"]);
    await t.request("POST", "/v1/projects/wh-dead/artifacts/config/app", { body: { content: content.config({ d: 4 }) } });
    await waitFor("three attempts", () => receiver.at("dead").length === 3, 5_000);
    const log = await waitFor("three attempts logged", async () => {
      const page = await deliveries("wh-dead", hook.id);
      return page.items.length === 3 && page;
    });
    await sleep(800);
    expect(receiver.at("dead")).toHaveLength(3);
    expect(log.items.map((a) => [a.attempt, a.status_code])).toEqual([
      [3, 503],
      [2, 503],
      [1, 503],
    ]);
    const row = await t.db.handle.db.selectFrom("webhook_outbox").select(["state", "attempts"]).where("webhook_id", "=", hook.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: "failed", attempts: 3 });
    expect(worker!.logs.text).toContain("webhook delivery failed for good");
    expect(worker!.logs.text).not.toContain(SECRET);
  });

  it("keeps deliveries across a restart: an event enqueued while no worker runs arrives from the next one", async () => {
    await project("wh-restart");
    await createWebhook("wh-restart", "restart", ["artifact.published"]);
    await worker!.close();
    worker = undefined;

    const res = await t.request("POST", "/v1/projects/wh-restart/artifacts/config/app", { body: { content: content.config({ e: 5 }) } });
    expect(res.status).toBe(201);
    await sleep(300);
    expect(receiver.at("restart")).toHaveLength(0);
    const pending = await t.db.handle.db.selectFrom("webhook_outbox").select("state").where("project", "=", "wh-restart").execute();
    expect(pending).toEqual([{ state: "pending" }]);

    await startWorker();
    const [got] = await waitFor("the delivery after the restart", () => receiver.at("restart").length === 1 && receiver.at("restart"));
    expect(verifySignature(SECRET, got!.body, got!.headers["x-pinset-signature"] as string)).toBe(true);
  });

  it("sends a delivery claimed by an instance that died once its lease expires", async () => {
    await project("wh-lease");
    await createWebhook("wh-lease", "lease", ["artifact.published"]);
    await worker!.close();
    worker = undefined;
    await t.request("POST", "/v1/projects/wh-lease/artifacts/config/app", { body: { content: content.config({ f: 6 }) } });
    // What a worker that crashed mid-send leaves behind: a claim with a lease still running.
    const leaseUntil = new Date(Date.now() + 1_200);
    await t.db.handle.db.updateTable("webhook_outbox").set({ lease_until: leaseUntil, claim: "dead-instance" }).where("project", "=", "wh-lease").execute();

    await startWorker();
    await sleep(600);
    expect(receiver.at("lease")).toHaveLength(0);
    const [got] = await waitFor("the delivery after the lease", () => receiver.at("lease").length === 1 && receiver.at("lease"), 5_000);
    expect(got!.at).toBeGreaterThanOrEqual(leaseUntil.getTime() - 50);
  });

  it("wakes the worker as soon as an event is enqueued in this process, not at its next poll", async () => {
    await project("wh-kick");
    await createWebhook("wh-kick", "kick", ["artifact.published"]);
    await worker!.close();
    worker = await startTestApp(backend, { sharedDatabaseOf: t, background: true, webhookDelivery: { ...FAST, pollIntervalMs: 60_000 } });
    try {
      await sleep(100); // past the first poll at start
      const started = Date.now();
      await t.request("POST", "/v1/projects/wh-kick/artifacts/config/app", { body: { content: content.config({ k: 1 }) } });
      await waitFor("the kicked delivery", () => receiver.at("kick").length === 1, 3_000);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await worker.close();
      await startWorker();
    }
  });

  it("has two running instances deliver each event exactly once", async () => {
    await project("wh-pair");
    const hook = await createWebhook("wh-pair", "pair", ["artifact.published"]);
    const second = await startTestApp(backend, { sharedDatabaseOf: t, background: true, webhookDelivery: FAST });
    try {
      const n = 12;
      for (let i = 0; i < n; i++) {
        expect((await t.request("POST", "/v1/projects/wh-pair/artifacts/config/app", { body: { content: content.config({ i }) } })).status).toBe(201);
      }
      await waitFor("every delivery", () => receiver.at("pair").length >= n);
      await sleep(300);
      const ids = receiver.at("pair").map((r) => r.headers["x-pinset-delivery"]);
      expect(ids).toHaveLength(n);
      expect(new Set(ids).size).toBe(n);
      expect((await deliveries("wh-pair", hook.id, "?limit=100")).items).toHaveLength(n);
    } finally {
      await second.close();
    }
  });

  it("deletes a webhook with its pending deliveries; later events are not sent to it", async () => {
    await project("wh-delete");
    const hook = await createWebhook("wh-delete", "delete", ["artifact.published"]);
    const del = await t.request("DELETE", `/v1/projects/wh-delete/webhooks/${hook.id}`);
    expect(del.status).toBe(204);
    expect((await t.request("DELETE", `/v1/projects/wh-delete/webhooks/${hook.id}`)).status).toBe(404);
    expect((await t.request("DELETE", "/v1/projects/wh-delete/webhooks/wh_000000000000000000000000")).status).toBe(404);
    expect((await t.request("GET", `/v1/projects/wh-delete/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    expect((await (await t.request("GET", "/v1/projects/wh-delete/webhooks")).json()).items).toEqual([]);

    const audit = await t.db.handle.db.selectFrom("audit_log").select(["action", "before"]).where("project", "=", "wh-delete").where("action", "=", "webhook.delete").execute();
    expect(audit).toEqual([{ action: "webhook.delete", before: { origin: new URL(receiver.url("x")).origin, events: ["artifact.published"] } }]);

    await t.request("POST", "/v1/projects/wh-delete/artifacts/config/app", { body: { content: content.config({ g: 7 }) } });
    await sleep(300);
    expect(receiver.at("delete")).toHaveLength(0);
  });

  it("hides webhooks from tokens of other projects (404) and needs admin to manage them", async () => {
    await project("wh-private");
    await project("wh-elsewhere");
    const hook = await createWebhook("wh-private", "private", ["artifact.published"]);
    const token = async (scopes: string[], projects: string[]) => {
      const res = await t.request("POST", "/v1/tokens", { body: { name: `wh ${scopes.join("+")} ${projects.join(",")}`, scopes, projects } });
      expect(res.status).toBe(201);
      return ((await res.json()) as { token: string }).token;
    };
    // Admin tokens cover every project, so the outsider has every other scope on its own project.
    const outsider = await token(["read", "publish", "deploy"], ["wh-elsewhere"]);
    for (const [method, path] of [
      ["GET", "/v1/projects/wh-private/webhooks"],
      ["POST", "/v1/projects/wh-private/webhooks"],
      ["DELETE", `/v1/projects/wh-private/webhooks/${hook.id}`],
      ["GET", `/v1/projects/wh-private/webhooks/${hook.id}/deliveries`],
    ] as const) {
      const body = method === "POST" ? { url: receiver.url("x"), events: ["artifact.published"], secret: SECRET } : undefined;
      const res = await t.request(method, path, { token: outsider, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    // The id is real but belongs to another project: not found there, even for an admin.
    expect((await t.request("GET", `/v1/projects/wh-elsewhere/webhooks/${hook.id}/deliveries`, { token: outsider })).status).toBe(404);
    expect((await t.request("GET", `/v1/projects/wh-elsewhere/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    expect((await t.request("DELETE", `/v1/projects/wh-elsewhere/webhooks/${hook.id}`)).status).toBe(404);

    const reader = await token(["read"], ["wh-private"]);
    expect((await t.request("GET", `/v1/projects/wh-private/webhooks/${hook.id}/deliveries`, { token: reader })).status).toBe(200);
    expect((await t.request("GET", "/v1/projects/wh-private/webhooks", { token: reader })).status).toBe(403);
    expect((await t.request("DELETE", `/v1/projects/wh-private/webhooks/${hook.id}`, { token: reader })).status).toBe(403);
    const publisher = await token(["publish", "deploy"], ["wh-private"]);
    const res = await t.request("POST", "/v1/projects/wh-private/webhooks", { token: publisher, body: { url: receiver.url("x"), events: ["artifact.published"], secret: SECRET } });
    expect(res.status).toBe(403);
    expect((await (await t.request("GET", "/v1/projects/wh-private/webhooks")).json()).items.map((h: { id: string }) => h.id)).toEqual([hook.id]);
  });
});
