import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashTokenSecret } from "../../src/auth/secrets.js";
import { content, sha256Digest } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken, type CreatedToken } from "../support/tokens.js";

interface Step {
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  token?: string;
  status: number | number[];
  /** The audit entries this request must write, in order; undefined: it must write none. */
  audit?: Expected | Expected[];
}

interface Expected {
  action: string;
  target: string | RegExp;
  project: string | null;
}

const expectedOf = (step: Step): Expected[] => (step.audit === undefined ? [] : Array.isArray(step.audit) ? step.audit : [step.audit]);

interface AuditItem {
  at: string;
  project: string | null;
  actor: string;
  actor_token_id: string | null;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  trace_id: string;
  client_address: string | null;
}

const WEBHOOK_SECRET = "whsec-audit-session-0123456789";
const blobBytes = "index shard 0";
const blobDigest = sha256Digest(blobBytes);

describe.each(backends())("audit on $name", (backend) => {
  let t: TestApp;
  let publisher: CreatedToken;
  let deployer: CreatedToken;
  const secrets: string[] = [ADMIN_TOKEN, WEBHOOK_SECRET];
  /** Every request of the session, with the trace id it was answered with. */
  const done: Array<Step & { traceId: string; response: Record<string, unknown> }> = [];

  async function run(step: Step) {
    const res = await t.request(step.method, step.path, {
      ...(step.body !== undefined ? { body: step.body } : {}),
      ...(step.raw !== undefined ? { raw: step.raw, headers: { "content-type": "application/octet-stream" } } : {}),
      ...(step.token !== undefined ? { token: step.token } : {}),
    });
    const text = await res.text();
    const statuses = Array.isArray(step.status) ? step.status : [step.status];
    expect(statuses, `${step.method} ${step.path}: ${text}`).toContain(res.status);
    const response = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    done.push({ ...step, traceId: res.headers.get("x-trace-id")!, response });
    return response;
  }

  beforeAll(async () => {
    t = await startTestApp(backend);
    // The scripted session: every mutation kind, plus repeats and refusals that change nothing.
    await run({ method: "PUT", path: "/v1/projects/shop", status: 201, audit: { action: "project.create", target: "project/shop", project: "shop" } });
    await run({ method: "PUT", path: "/v1/projects/shop", status: 200 });
    await run({ method: "PUT", path: "/v1/projects/other", status: 201, audit: { action: "project.create", target: "project/other", project: "other" } });
    const created = await run({
      method: "POST",
      path: "/v1/tokens",
      body: { name: "ci publisher", scopes: ["publish"], projects: ["shop"] },
      status: 201,
      audit: { action: "token.create", target: /^token\/tok_/, project: null },
    });
    publisher = created as unknown as CreatedToken;
    const createdDeployer = await run({
      method: "POST",
      path: "/v1/tokens",
      body: { name: "cd deployer", scopes: ["deploy"], projects: ["shop"], environments: ["prod"] },
      status: 201,
      audit: { action: "token.create", target: /^token\/tok_/, project: null },
    });
    deployer = createdDeployer as unknown as CreatedToken;
    secrets.push(publisher.token, deployer.token);
    await run({ method: "POST", path: "/v1/tokens", body: { name: "bad", scopes: ["root"], projects: ["*"] }, status: 400 });
    await run({ method: "PUT", path: `/v1/projects/shop/blobs/${blobDigest}`, raw: blobBytes, token: publisher.token, status: 201, audit: { action: "blob.upload", target: `blob/${blobDigest}`, project: "shop" } });
    await run({ method: "PUT", path: `/v1/projects/shop/blobs/${blobDigest}`, raw: blobBytes, token: publisher.token, status: 200 });
    await run({ method: "PUT", path: `/v1/projects/shop/blobs/${blobDigest}`, raw: "other bytes", token: publisher.token, status: [200, 400] });
    await run({ method: "POST", path: "/v1/projects/shop/artifacts/prompt/system", body: { content: content.prompt() }, token: publisher.token, status: 201, audit: { action: "artifact.publish", target: "prompt/system@1", project: "shop" } });
    await run({ method: "POST", path: "/v1/projects/shop/artifacts/prompt/system", body: { content: content.prompt() }, token: publisher.token, status: 200 });
    await run({ method: "POST", path: "/v1/projects/shop/artifacts/prompt/system", body: { content: content.prompt("Hi {{question}}") }, token: publisher.token, status: 201, audit: { action: "artifact.publish", target: "prompt/system@2", project: "shop" } });
    await run({ method: "POST", path: "/v1/projects/shop/artifacts/model/main", body: { content: content.model() }, token: publisher.token, status: 201, audit: { action: "artifact.publish", target: "model/main@1", project: "shop" } });
    await run({
      method: "POST",
      path: "/v1/projects/shop/artifacts/index/kb",
      body: { content: { files: [{ path: "shard-0", digest: blobDigest, size: Buffer.byteLength(blobBytes) }] } },
      token: publisher.token,
      status: 201,
      audit: { action: "artifact.publish", target: "index/kb@1", project: "shop" },
    });
    await run({ method: "POST", path: "/v1/projects/shop/artifacts/contract/answer", body: { content: { schema: { type: "nope" } } }, token: publisher.token, status: 422 });
    const v1 = await run({
      method: "POST",
      path: "/v1/projects/shop/version-sets",
      body: { components: { "prompt.system": "prompt/system@1", "model.main": "model/main@1", "index.kb": "index/kb@1" }, code: { repo: "git@example.com:shop.git", commit: "a1" } },
      token: publisher.token,
      status: 201,
      audit: { action: "version_set.create", target: /^version_set\/vs_/, project: "shop" },
    });
    const v2 = await run({
      method: "POST",
      path: "/v1/projects/shop/version-sets",
      body: { components: { "prompt.system": "prompt/system@2", "model.main": "model/main@1", "index.kb": "index/kb@1" }, code: { repo: "git@example.com:shop.git", commit: "a2" } },
      token: publisher.token,
      status: 201,
      audit: { action: "version_set.create", target: /^version_set\/vs_/, project: "shop" },
    });
    await run({ method: "POST", path: "/v1/projects/shop/version-sets", body: { components: { "prompt.system": "prompt/missing@1" } }, token: publisher.token, status: 422 });
    if (t.pinset.routes.some((r) => r.path.endsWith("/environments/:env/deploy"))) {
      await run({ method: "PUT", path: "/v1/projects/shop/environments/prod", body: { protected: true }, status: 201, audit: { action: "environment.create", target: "environment/prod", project: "shop" } });
      await run({ method: "POST", path: "/v1/projects/shop/environments/prod/deploy", body: { version_set: v1.id, reason: "first" }, token: deployer.token, status: 200, audit: { action: "environment.deploy", target: "environment/prod", project: "shop" } });
      await run({ method: "POST", path: "/v1/projects/shop/environments/prod/deploy", body: { version_set: v2.id, expected_revision: 0 }, token: deployer.token, status: 409 });
      await run({ method: "POST", path: "/v1/projects/shop/environments/prod/deploy", body: { version_set: v2.id, expected_revision: 1 }, token: deployer.token, status: 200, audit: { action: "environment.deploy", target: "environment/prod", project: "shop" } });
      await run({ method: "POST", path: "/v1/projects/shop/environments/prod/rollback", body: { reason: "quality dropped" }, token: deployer.token, status: 200, audit: { action: "environment.rollback", target: "environment/prod", project: "shop" } });
      await run({ method: "PUT", path: "/v1/projects/shop/environments/staging", body: {}, status: 201, audit: { action: "environment.create", target: "environment/staging", project: "shop" } });
    }
    if (t.pinset.routes.some((r) => r.method === "put" && r.path.endsWith("/environments/:env/rollout"))) {
      const prod = "/v1/projects/shop/environments/prod";
      await run({ method: "PUT", path: `${prod}/gate-policy`, body: {}, token: deployer.token, status: 200, audit: { action: "gate_policy.update", target: "environment/prod/gate-policy", project: "shop" } });
      await run({ method: "PUT", path: `${prod}/rollout`, body: { candidate: v2.id, percent: 5 }, token: deployer.token, status: 201, audit: { action: "rollout.start", target: /^environment\/prod\/rollout\/ro_/, project: "shop" } });
      await run({ method: "PUT", path: `${prod}/rollout`, body: { candidate: v2.id, percent: 5 }, token: deployer.token, status: 409 });
      await run({ method: "POST", path: `${prod}/rollout/pause`, body: { reason: "look" }, token: deployer.token, status: 200, audit: { action: "rollout.pause", target: /^environment\/prod\/rollout\//, project: "shop" } });
      await run({ method: "POST", path: `${prod}/rollout/resume`, body: {}, token: deployer.token, status: 200, audit: { action: "rollout.resume", target: /^environment\/prod\/rollout\//, project: "shop" } });
      // Aborting also writes the rollout's evidence pack: a second mutation, with its own row.
      await run({
        method: "POST",
        path: `${prod}/rollout/abort`,
        body: { reason: "enough" },
        token: deployer.token,
        status: 200,
        audit: [
          { action: "rollout.abort", target: /^environment\/prod\/rollout\//, project: "shop" },
          { action: "evidence.write", target: /^evidence\//, project: "shop" },
        ],
      });
      // An automatic rollout stopped by a risk event: the observation, the abort, the freeze and
      // the incident in one transaction, then the evidence pack; a frozen environment refuses
      // deploys (423).
      await run({ method: "PUT", path: `${prod}/rollout`, body: { candidate: v2.id, percent: 5, auto: true }, token: deployer.token, status: 201, audit: { action: "rollout.start", target: /^environment\/prod\/rollout\//, project: "shop" } });
      const window = { window_start: "2025-01-01T00:00:00Z", window_end: "2025-01-01T00:05:00Z" };
      await run({
        method: "POST",
        path: `${prod}/observations`,
        body: { version_set: v2.id, ...window, metrics: { risk: { injection_success: 1 } } },
        token: deployer.token,
        status: 201,
        audit: [
          { action: "observation.record", target: /^environment\/prod\/rollout\//, project: "shop" },
          { action: "rollout.abort", target: /^environment\/prod\/rollout\//, project: "shop" },
          { action: "environment.freeze", target: "environment/prod", project: "shop" },
          // The stop opens an incident on the environment (mitigated by the freeze).
          { action: "incident.open", target: /^environment\/prod\/incident\/inc_/, project: "shop" },
          { action: "evidence.write", target: /^evidence\//, project: "shop" },
        ],
      });
      await run({ method: "POST", path: `${prod}/deploy`, body: { version_set: v2.id }, token: deployer.token, status: 423 });
      await run({ method: "POST", path: `${prod}/unfreeze`, body: { reason: "fixed" }, status: 200, audit: { action: "environment.unfreeze", target: "environment/prod", project: "shop" } });
    }
    if (t.pinset.routes.some((r) => r.path === "/projects/:project/webhooks" && r.method === "post")) {
      const hook = await run({
        method: "POST",
        path: "/v1/projects/shop/webhooks",
        body: { url: "http://127.0.0.1:9/hook", events: ["environment.changed"], secret: WEBHOOK_SECRET },
        status: 201,
        audit: { action: "webhook.create", target: /^webhook\//, project: "shop" },
      });
      await run({ method: "DELETE", path: `/v1/projects/shop/webhooks/${hook.id as string}`, status: [200, 204], audit: { action: "webhook.delete", target: /^webhook\//, project: "shop" } });
    }
    await run({ method: "DELETE", path: `/v1/tokens/${publisher.id}`, status: 204, audit: { action: "token.revoke", target: `token/${publisher.id}`, project: null } });
    await run({ method: "DELETE", path: `/v1/tokens/${publisher.id}`, status: 204 });
    await run({ method: "POST", path: "/v1/projects/shop/artifacts/prompt/late", body: { content: content.prompt() }, token: publisher.token, status: 401 });
  });
  afterAll(async () => t?.close());

  async function allEntries(path = "/v1/audit"): Promise<AuditItem[]> {
    const items: AuditItem[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const res = await t.request("GET", `${path}${sep}limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: AuditItem[]; next_cursor: string | null };
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  it("records every mutation of the session exactly once, in order, and nothing for repeats or refusals", async () => {
    const expected = done.flatMap((step) => expectedOf(step).map((e) => ({ ...e, traceId: step.traceId })));
    const entries = (await allEntries()).reverse();
    expect(entries.map((e) => e.action)).toEqual(expected.map((e) => e.action));
    entries.forEach((entry, i) => {
      const want = expected[i]!;
      expect(entry.target).toMatch(typeof want.target === "string" ? new RegExp(`^${want.target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) : want.target);
      expect(entry.project).toBe(want.project);
      // The entry carries the trace id of the request that made the change.
      expect(entry.trace_id, entry.action).toBe(want.traceId);
      expect(entry.client_address).toMatch(/127\.0\.0\.1|::1/);
    });
    // A request's rows are exactly the ones it was expected to write (none for the others).
    for (const step of done) {
      expect(entries.filter((e) => e.trace_id === step.traceId).length, `${step.method} ${step.path}`).toBe(expectedOf(step).length);
    }
  });

  it("names the actor by token name and id", async () => {
    const entries = await allEntries();
    const publish = entries.find((e) => e.action === "artifact.publish")!;
    expect(publish).toMatchObject({ actor: "ci publisher", actor_token_id: publisher.id });
    const project = entries.find((e) => e.action === "project.create")!;
    expect(project).toMatchObject({ actor: "admin (PINSET_ADMIN_TOKEN)", actor_token_id: "tok_bootstrap_admin" });
  });

  it("shows a project only its own entries, never token changes", async () => {
    const shop = await allEntries("/v1/projects/shop/audit");
    expect(shop.length).toBeGreaterThan(5);
    expect(shop.every((e) => e.project === "shop")).toBe(true);
    expect(shop.some((e) => e.action.startsWith("token."))).toBe(false);
    const other = await allEntries("/v1/projects/other/audit");
    expect(other.map((e) => e.action)).toEqual(["project.create"]);
  });

  it("filters by action, since and until", async () => {
    const publishes = await allEntries("/v1/projects/shop/audit?action=artifact.publish");
    expect(publishes.map((e) => e.target)).toEqual(["index/kb@1", "model/main@1", "prompt/system@2", "prompt/system@1"]);
    const all = (await allEntries("/v1/projects/shop/audit")).reverse();
    const pivot = all[3]!.at;
    const since = await allEntries(`/v1/projects/shop/audit?since=${encodeURIComponent(pivot)}`);
    expect(since.every((e) => e.at >= pivot)).toBe(true);
    expect(since.length).toBe(all.filter((e) => e.at >= pivot).length);
    const until = await allEntries(`/v1/projects/shop/audit?until=${encodeURIComponent(pivot)}`);
    expect(until.every((e) => e.at < pivot)).toBe(true);
    expect(until.length + since.length).toBe(all.length);
    const offset = pivot.replace("Z", "+00:00");
    expect((await allEntries(`/v1/projects/shop/audit?since=${encodeURIComponent(offset)}`)).length).toBe(since.length);
    expect(await allEntries("/v1/projects/shop/audit?action=no.such.action")).toEqual([]);
  });

  it.each([
    ["since=yesterday", "query.since"],
    ["since=2024-01-01T00:00:00", "query.since"],
    ["until=2024-13-01T00:00:00Z", "query.until"],
    ["since=0000-01-01T00:00:00Z", "query.since"],
    ["until=0001-01-01T00:30:00%2B01:00", "query.until"],
    ["since=2024-01-01T00:00:00Z&since=2024-01-02T00:00:00Z", "query.since"],
    ["action=Robert');DROP TABLE audit_log;--", "query.action"],
    ["limit=0", "query.limit"],
    ["limit=501", "query.limit"],
    ["cursor=not-a-cursor", "query.cursor"],
  ])("refuses ?%s with 400 naming %s", async (query, path) => {
    const res = await t.request("GET", `/v1/projects/shop/audit?${query.replace(/ /g, "%20")}`);
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("hides entries about other environments from a token limited to some", async () => {
    const stagingOnly = await createToken(t, { scopes: ["read"], projects: ["shop"], environments: ["staging"] });
    const res = await t.request("GET", "/v1/projects/shop/audit?limit=500", { token: stagingOnly.token });
    expect(res.status).toBe(200);
    const items = (await res.json()).items as AuditItem[];
    expect(items.some((e) => e.action === "artifact.publish")).toBe(true);
    const text = JSON.stringify(items);
    expect(text).not.toMatch(/environment\/prod|"prod"/);
    if (t.pinset.routes.some((r) => r.path.endsWith("/environments/:env"))) {
      expect(items.filter((e) => e.target === "environment/staging").map((e) => e.action)).toEqual(["environment.create"]);
      const all = await allEntries("/v1/projects/shop/audit");
      expect(all.some((e) => e.target.startsWith("environment/prod"))).toBe(true);
    }
  });

  it("lets read tokens read their project's audit, 404 for other projects, admin only for /v1/audit", async () => {
    const reader = await createToken(t, { scopes: ["read"], projects: ["other"] });
    expect((await t.request("GET", "/v1/projects/other/audit", { token: reader.token })).status).toBe(200);
    expect((await t.request("GET", "/v1/projects/shop/audit", { token: reader.token })).status).toBe(404);
    expect((await t.request("GET", "/v1/audit", { token: reader.token })).status).toBe(403);
    expect((await t.request("GET", "/v1/projects/nowhere/audit")).status).toBe(404);
  });

  it("keeps every secret out of the audit log and the logs", async () => {
    const rows = await t.db.handle.db.selectFrom("audit_log").selectAll().execute();
    const auditText = JSON.stringify(rows);
    const logText = t.logs.text;
    expect(logText.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      for (const needle of [secret, hashTokenSecret(secret)]) {
        expect(auditText).not.toContain(needle);
        expect(logText).not.toContain(needle);
      }
    }
    // The log lines carry the trace ids of the session's requests.
    for (const step of done) expect(logText).toContain(step.traceId);
  });

  it("refused requests of the session wrote nothing (counts unchanged by another refusal)", async () => {
    const before = await tableCounts(t);
    expect((await t.request("POST", "/v1/projects/shop/version-sets", { body: { components: { x: "prompt/nope@1" } }, token: deployer.token })).status).toBe(403);
    expect(await tableCounts(t)).toEqual(before);
  });
});
