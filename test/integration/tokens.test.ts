import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { BOOTSTRAP_TOKEN_ID } from "../../src/auth/bootstrap-admin.js";
import { hashTokenSecret } from "../../src/auth/secrets.js";
import { createLogger } from "../../src/logger.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, LogCapture, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const future = (ms: number) => new Date(Date.now() + ms).toISOString();

describe.each(backends())("tokens on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/alpha")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  it("creates a token whose secret is shown once, works at once, and is stored only as a hash", async () => {
    const res = await t.request("POST", "/v1/tokens", { body: { name: "ci alpha", scopes: ["publish"], projects: ["alpha"] } });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const created = await res.json();
    expect(created).toMatchObject({ name: "ci alpha", scopes: ["publish"], projects: ["alpha"], environments: null, expires_at: null, revoked_at: null });
    expect(created.id).toMatch(/^tok_[0-9a-f]{24}$/);
    // pst_ + base64url of 32 random bytes (43 characters).
    expect(created.token).toMatch(/^pst_[A-Za-z0-9_-]{43}$/);

    const projects = await t.request("GET", "/v1/projects", { token: created.token });
    expect(projects.status).toBe(200);
    expect((await projects.json()).items.map((p: { name: string }) => p.name)).toEqual(["alpha"]);

    const row = await t.db.handle.db.selectFrom("tokens").selectAll().where("id", "=", created.id).executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(hashTokenSecret(created.token));
    expect(JSON.stringify(row)).not.toContain(created.token);
    expect(JSON.stringify(row)).not.toContain(created.token.slice(4));
  });

  it("lists tokens newest first without secrets or hashes", async () => {
    const a = await createToken(t, { name: "list-a", scopes: ["read"], projects: ["*"] });
    const b = await createToken(t, { name: "list-b", scopes: ["deploy"], projects: ["alpha"], environments: ["staging"], expires_at: future(3_600_000) });
    const res = await t.request("GET", "/v1/tokens?limit=2");
    expect(res.status).toBe(200);
    const page = await res.json();
    expect(page.items.map((i: { id: string }) => i.id)).toEqual([b.id, a.id]);
    expect(page.items[0]).toMatchObject({ name: "list-b", environments: ["staging"], scopes: ["deploy"] });
    expect(page.next_cursor).toEqual(expect.any(String));
    const text = JSON.stringify(page);
    for (const token of [a.token, b.token]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(hashTokenSecret(token));
    }
    expect(text).not.toContain("secret_hash");
    const rest = await (await t.request("GET", `/v1/tokens?limit=500&cursor=${page.next_cursor}`)).json();
    expect(rest.items.map((i: { id: string }) => i.id)).toContain(BOOTSTRAP_TOKEN_ID);
    expect(rest.next_cursor).toBeNull();
  });

  it("lets only admin tokens manage tokens (403 for the others, 401 without a token)", async () => {
    const deployer = await createToken(t, { scopes: ["read", "publish", "deploy"], projects: ["*"] });
    const body = { name: "x", scopes: ["admin"], projects: ["*"] };
    expect((await t.request("POST", "/v1/tokens", { body, token: deployer.token })).status).toBe(403);
    expect((await t.request("GET", "/v1/tokens", { token: deployer.token })).status).toBe(403);
    expect((await t.request("DELETE", `/v1/tokens/${deployer.id}`, { token: deployer.token })).status).toBe(403);
    expect((await t.request("POST", "/v1/tokens", { body, token: null })).status).toBe(401);
  });

  const invalid: Array<[string, unknown, number, string]> = [
    ["no body fields", {}, 400, "body.name"],
    ["an unknown field", { name: "x", scopes: ["read"], projects: ["*"], role: "root" }, 400, "body"],
    ["an unknown scope", { name: "x", scopes: ["root"], projects: ["*"] }, 400, "body.scopes.0"],
    ["no scopes", { name: "x", scopes: [], projects: ["*"] }, 400, "body.scopes"],
    ["duplicate scopes", { name: "x", scopes: ["read", "read"], projects: ["*"] }, 400, "body.scopes"],
    ["a scope that is not a string", { name: "x", scopes: [{ admin: true }], projects: ["*"] }, 400, "body.scopes.0"],
    ["a blank name", { name: "   ", scopes: ["read"], projects: ["*"] }, 400, "body.name"],
    ["a name with a newline", { name: "a\nb", scopes: ["read"], projects: ["*"] }, 400, "body.name"],
    ["a 129-character name", { name: "n".repeat(129), scopes: ["read"], projects: ["*"] }, 400, "body.name"],
    ["no projects", { name: "x", scopes: ["read"], projects: [] }, 400, "body.projects"],
    ["projects not an array", { name: "x", scopes: ["read"], projects: "*" }, 400, "body.projects"],
    ["an invalid project name", { name: "x", scopes: ["read"], projects: ["../alpha"] }, 400, "body.projects.0"],
    ['"*" mixed with names', { name: "x", scopes: ["read"], projects: ["*", "alpha"] }, 400, "body.projects"],
    ["an invalid environment name", { name: "x", scopes: ["deploy"], projects: ["alpha"], environments: ["Prod"] }, 400, "body.environments.0"],
    ["an empty environment list", { name: "x", scopes: ["deploy"], projects: ["alpha"], environments: [] }, 400, "body.environments"],
    ["expires_at without a time zone", { name: "x", scopes: ["read"], projects: ["*"], expires_at: "2999-01-01T00:00:00" }, 400, "body.expires_at"],
    ["expires_at not a date", { name: "x", scopes: ["read"], projects: ["*"], expires_at: "tomorrow" }, 400, "body.expires_at"],
    ["expires_at February 30", { name: "x", scopes: ["read"], projects: ["*"], expires_at: "2999-02-30T00:00:00Z" }, 400, "body.expires_at"],
    ["expires_at in the past", { name: "x", scopes: ["read"], projects: ["*"], expires_at: "2020-01-01T00:00:00Z" }, 422, "body.expires_at"],
    ["an admin limited to one project", { name: "x", scopes: ["admin"], projects: ["alpha"] }, 422, "body.projects"],
    ["an admin limited to environments", { name: "x", scopes: ["admin"], projects: ["*"], environments: ["prod"] }, 422, "body.environments"],
  ];
  it.each(invalid)("refuses %s with %i and writes nothing", async (_label, body, status, path) => {
    const before = await tableCounts(t);
    const res = await t.request("POST", "/v1/tokens", { body });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = await res.json();
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await tableCounts(t)).toEqual(before);
  });

  it("refuses a body that is not JSON or not an object", async () => {
    const malformed = await t.request("POST", "/v1/tokens", { raw: "{", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).code).toBe("malformed_json");
    const array = await t.request("POST", "/v1/tokens", { body: [] });
    expect(array.status).toBe(400);
  });

  it("revokes a token: 401 from the next request, idempotent, audited once", async () => {
    const victim = await createToken(t, { scopes: ["read"], projects: ["alpha"] });
    expect((await t.request("GET", "/v1/projects", { token: victim.token })).status).toBe(200);
    const first = await t.request("DELETE", `/v1/tokens/${victim.id}`);
    expect(first.status).toBe(204);
    const refused = await t.request("GET", "/v1/projects", { token: victim.token });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await refused.json()).code).toBe("unauthorized");
    expect((await t.request("DELETE", `/v1/tokens/${victim.id}`)).status).toBe(204);
    const list = await (await t.request("GET", "/v1/tokens?limit=500")).json();
    expect(list.items.find((i: { id: string }) => i.id === victim.id).revoked_at).toEqual(expect.any(String));
    const audit = await (await t.request("GET", "/v1/audit?action=token.revoke&limit=500")).json();
    expect(audit.items.filter((e: { target: string }) => e.target === `token/${victim.id}`)).toHaveLength(1);
  });

  it("answers 404 for an unknown token id, 400 for a malformed one, 409 for the bootstrap admin token", async () => {
    const unknown = await t.request("DELETE", "/v1/tokens/tok_000000000000000000000000");
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe("not_found");
    const malformed = await t.request("DELETE", `/v1/tokens/${encodeURIComponent("tok_1' or '1'='1")}`);
    expect(malformed.status).toBe(400);
    const bootstrap = await t.request("DELETE", `/v1/tokens/${BOOTSTRAP_TOKEN_ID}`);
    expect(bootstrap.status).toBe(409);
    expect((await bootstrap.json()).detail).toMatch(/PINSET_ADMIN_TOKEN/);
    expect((await t.request("GET", "/v1/projects")).status).toBe(200);
  });

  it("refuses a token once it has expired (401), also when the lookup was cached", async () => {
    const shortLived = await createToken(t, { scopes: ["read"], projects: ["alpha"], expires_at: future(1_500) });
    expect((await t.request("GET", "/v1/projects", { token: shortLived.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_600));
    const res = await t.request("GET", "/v1/projects", { token: shortLived.token });
    expect(res.status).toBe(401);
  });

  it("makes a revocation effective on another instance within a second", async () => {
    // A second registry instance on the same database: it has its own token cache.
    const other = createApp({
      db: t.db.handle.db,
      blobStore: t.blobStore,
      logger: createLogger({ level: "silent", destination: new LogCapture() }),
      config: { limits: { maxJsonBytes: 1024 * 1024, maxBlobBytes: 1024 * 1024 } },
    });
    const server: Server = createServer(other.listener).listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const victim = await createToken(t, { scopes: ["read"], projects: ["alpha"] });
      const ask = () => fetch(`${url}/v1/projects`, { headers: { authorization: `Bearer ${victim.token}` } });
      expect((await ask()).status).toBe(200); // now cached on the other instance
      expect((await t.request("DELETE", `/v1/tokens/${victim.id}`)).status).toBe(204);
      const revokedAt = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - revokedAt < 3_000) {
        status = (await ask()).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThanOrEqual(1_100);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("refuses unknown and malformed bearer tokens with 401", async () => {
    for (const authorization of ["Bearer pst_unknown", "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer a b", "bearer   "]) {
      const res = await t.request("GET", "/v1/projects", { token: null, headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect((await res.json()).code).toBe("unauthorized");
    }
  });
});
