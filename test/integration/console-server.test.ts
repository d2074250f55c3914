/**
 * The server side of the web console (issue 16): the pages and hashed assets with their
 * security and cache headers, the API's CORS staying closed, `GET /v1/tokens/self`, and the
 * audit filters the console uses (actor, target, trace_id).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConsoleBundle, type ConsoleBundle } from "../../src/console/bundle.js";
import { CONSOLE_CSP } from "../../src/console/routes.js";
import { content } from "../support/builders.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const INDEX = '<!doctype html><html lang="en"><head><title>Pinset console</title><script type="module" src="/ui/assets/main-ABCDEFGH.js"></script></head><body><div id="app"></div></body></html>';

async function writeBundle(dir: string): Promise<void> {
  await mkdir(path.join(dir, "assets"), { recursive: true });
  await writeFile(path.join(dir, "index.html"), INDEX);
  await writeFile(path.join(dir, "assets", "main-ABCDEFGH.js"), "console.log('console');\n");
  await writeFile(path.join(dir, "assets", "main-12345678.css"), "body{margin:0}\n");
  // Present in the directory but not in the manifest: never served.
  await writeFile(path.join(dir, "assets", "secret-ZZZZZZZZ.js"), "nope\n");
  await writeFile(
    path.join(dir, "manifest.json"),
    JSON.stringify({ index: "index.html", assets: { "main-ABCDEFGH.js": { type: "text/javascript; charset=utf-8", size: 24 }, "main-12345678.css": { type: "text/css; charset=utf-8", size: 15 } } }),
  );
}

describe("console pages and assets", () => {
  let dir: string;
  let bundle: ConsoleBundle;
  let t: TestApp;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pinset-console-"));
    await writeBundle(dir);
    bundle = (await loadConsoleBundle(dir))!;
    t = await startTestApp(backends()[0]!, { console: bundle });
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("loads nothing from a directory without a manifest, and refuses a manifest naming unhashed files", async () => {
    const empty = await mkdtemp(path.join(tmpdir(), "pinset-console-empty-"));
    try {
      expect(await loadConsoleBundle(empty)).toBeUndefined();
      await writeFile(path.join(empty, "manifest.json"), JSON.stringify({ index: "index.html", assets: { "../../etc/passwd": { type: "text/plain", size: 1 } } }));
      await expect(loadConsoleBundle(empty)).rejects.toThrow();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it.each(["/", "/ui/projects", "/ui/projects/p/environments/prod", "/ui/projects/p/diff?from=a&to=b", "/ui/"])("answers %s with the console's HTML, not cached, under a strict CSP", async (page) => {
    const res = await fetch(`${t.url}${page}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toBe(INDEX);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves the hashed assets for a year, immutable, and nothing else under /ui/assets", async () => {
    const js = await fetch(`${t.url}/ui/assets/main-ABCDEFGH.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toBe("console.log('console');\n");
    const css = await fetch(`${t.url}/ui/assets/main-12345678.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    for (const missing of ["/ui/assets/secret-ZZZZZZZZ.js", "/ui/assets/main-00000000.js", "/ui/assets", "/ui/assets/", "/ui/assets/..%2Fmanifest.json", "/ui/assets/%2E%2E%2Findex.html"]) {
      const res = await fetch(`${t.url}${missing}`);
      expect(res.status, missing).toBe(404);
      expect(res.headers.get("content-type"), missing).toMatch(/^application\/problem\+json/);
      expect(String(res.headers.get("cache-control")), missing).not.toMatch(/immutable/);
    }
  });

  it("leaves everything else to the API: other methods and paths answer problem+json 404", async () => {
    for (const [method, p] of [["POST", "/"], ["DELETE", "/ui/projects"], ["GET", "/uix"], ["GET", "/index.html"], ["GET", "/manifest.json"]] as const) {
      const res = await fetch(`${t.url}${p}`, { method });
      expect(res.status, `${method} ${p}`).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    }
  });

  it("keeps the API's CORS closed: no allow-origin on preflights or answers", async () => {
    const preflight = await fetch(`${t.url}/v1/projects`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET", "access-control-request-headers": "authorization" } });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
    const answer = await fetch(`${t.url}/v1/projects`, { headers: { origin: "https://evil.example", authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("says how to build the console when the bundle is missing", async () => {
    const bare = await startTestApp(backends()[0]!, { console: "missing", sharedDatabaseOf: t });
    try {
      const res = await fetch(`${bare.url}/ui/projects/p`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain("npm run build:console");
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    } finally {
      await bare.close();
    }
  });
});

describe.each(backends())("console API on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  it("GET /v1/tokens/self describes the calling token, never its secret", async () => {
    const admin = await t.request("GET", "/v1/tokens/self");
    expect(admin.status).toBe(200);
    expect(admin.headers.get("cache-control")).toBe("no-store");
    const me = await admin.json();
    expect(me).toMatchObject({ scopes: ["admin"], projects: ["*"], environments: null, expires_at: null });
    expect(JSON.stringify(me)).not.toContain(ADMIN_TOKEN);

    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const reader = await createToken(t, { name: "console reader", scopes: ["read"], projects: ["shop", "alpha"], environments: ["staging"], expires_at: expiresAt });
    const res = await t.request("GET", "/v1/tokens/self", { token: reader.token });
    expect(res.status).toBe(200);
    const self = await res.json();
    expect(self).toEqual({ id: reader.id, name: "console reader", scopes: ["read"], projects: ["alpha", "shop"], environments: ["staging"], expires_at: expiresAt });
    expect(JSON.stringify(self)).not.toContain(reader.token);

    const deployer = await createToken(t, { scopes: ["deploy"], projects: ["shop"] });
    expect(await (await t.request("GET", "/v1/tokens/self", { token: deployer.token })).json()).toMatchObject({ scopes: ["deploy"], environments: null });
  });

  it("GET /v1/tokens/self answers 401 problem+json without a valid token, and after revocation", async () => {
    const none = await t.request("GET", "/v1/tokens/self", { token: null });
    expect(none.status).toBe(401);
    expect((await none.json()).code).toBe("unauthorized");
    expect((await t.request("GET", "/v1/tokens/self", { token: "pst_not-a-token" })).status).toBe(401);
    const gone = await createToken(t, { scopes: ["read"], projects: ["*"] });
    expect((await t.request("DELETE", `/v1/tokens/${gone.id}`)).status).toBe(204);
    expect((await t.request("GET", "/v1/tokens/self", { token: gone.token })).status).toBe(401);
  });

  describe("audit filters", () => {
    let deployTrace: string;
    beforeAll(async () => {
      const json = async (method: string, p: string, body?: unknown, token?: string) => {
        const res = await t.request(method, p, { ...(body !== undefined ? { body } : {}), ...(token ? { token } : {}) });
        expect(res.status, `${method} ${p}: ${await res.clone().text()}`).toBeLessThan(300);
        return { body: await res.json().catch(() => null), trace: res.headers.get("x-trace-id")! };
      };
      await json("PUT", "/v1/projects/shop");
      const publisher = await createToken(t, { name: "ci publisher", scopes: ["publish"], projects: ["shop"] });
      await json("POST", "/v1/projects/shop/artifacts/prompt/system", { content: content.prompt() }, publisher.token);
      await json("POST", "/v1/projects/shop/artifacts/prompt/system", { content: content.prompt("Hi {{question}}") }, publisher.token);
      const set = (await json("POST", "/v1/projects/shop/version-sets", { components: { p: "prompt/system@1" } }, publisher.token)).body as { id: string };
      await json("PUT", "/v1/projects/shop/environments/prod");
      await json("PUT", "/v1/projects/shop/environments/prod-eu");
      deployTrace = (await json("POST", "/v1/projects/shop/environments/prod/deploy", { version_set: set.id, reason: "first" })).trace;
      await json("POST", "/v1/projects/shop/environments/prod-eu/deploy", { version_set: set.id });
      await json("PUT", "/v1/projects/shop/environments/prod/gate-policy", { steps: [10, 100] });
    });
    const list = async (query: string, token?: string) => {
      const res = await t.request("GET", `/v1/projects/shop/audit?limit=500&${query}`, token ? { token } : {});
      expect(res.status, query).toBe(200);
      return ((await res.json()).items as Array<{ actor: string; target: string; action: string; trace_id: string }>);
    };

    it("filters by actor (the token's name)", async () => {
      const byPublisher = await list("actor=ci%20publisher");
      expect(byPublisher.map((e) => e.action).sort()).toEqual(["artifact.publish", "artifact.publish", "version_set.create"]);
      expect((await list("actor=nobody")).length).toBe(0);
    });

    it("filters by exact target and by a prefix ending in *", async () => {
      const exact = await list("target=environment/prod");
      expect(exact.length).toBeGreaterThan(0);
      expect(exact.every((e) => e.target === "environment/prod")).toBe(true);
      const prefixed = await list(`target=${encodeURIComponent("environment/prod*")}`);
      const targets = new Set(prefixed.map((e) => e.target));
      expect(targets).toEqual(new Set(["environment/prod", "environment/prod-eu", "environment/prod/gate-policy"]));
      const scoped = await list(`target=${encodeURIComponent("environment/prod/*")}`);
      expect(scoped.map((e) => e.target)).toEqual(["environment/prod/gate-policy"]);
      // `_` and `%` are literal, never wildcards.
      expect(await list(`target=${encodeURIComponent("environment/pro_*")}`)).toEqual([]);
    });

    it("filters by trace id: the rows one request wrote", async () => {
      const rows = await list(`trace_id=${encodeURIComponent(deployTrace)}`);
      expect(rows.map((e) => e.action)).toEqual(["environment.deploy"]);
      expect(rows.every((e) => e.trace_id === deployTrace)).toBe(true);
      expect(await list("trace_id=no-such-trace")).toEqual([]);
    });

    it("combines filters, and keeps hiding other environments from a limited token", async () => {
      expect((await list("actor=ci%20publisher&target=environment/prod")).length).toBe(0);
      const limited = await createToken(t, { scopes: ["read"], projects: ["shop"], environments: ["prod-eu"] });
      const rows = await list(`target=${encodeURIComponent("environment/*")}`, limited.token);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((e) => e.target === "environment/prod-eu")).toBe(true);
    });

    it.each([
      ["actor=", "query.actor"],
      ["actor=a%0Ab", "query.actor"],
      [`actor=${"x".repeat(129)}`, "query.actor"],
      ["target=environment/*/x", "query.target"],
      ["target=a%20b", "query.target"],
      ["target=%25", "query.target"],
      ["trace_id=a%20b", "query.trace_id"],
      [`trace_id=${"t".repeat(129)}`, "query.trace_id"],
      ["trace_id=x&trace_id=y", "query.trace_id"],
    ])("refuses ?%s with 400 naming %s", async (query, field) => {
      for (const p of ["/v1/projects/shop/audit", "/v1/audit"]) {
        const res = await t.request("GET", `${p}?${query}`);
        expect(res.status, `${p}?${query}`).toBe(400);
        const problem = await res.json();
        expect(problem.code).toBe("validation_failed");
        expect(problem.errors.map((e: { path: string }) => e.path)).toContain(field);
      }
    });

    it("applies the same filters to the admin's /v1/audit", async () => {
      const res = await t.request("GET", `/v1/audit?trace_id=${encodeURIComponent(deployTrace)}`);
      expect((await res.json()).items.map((e: { action: string }) => e.action)).toEqual(["environment.deploy"]);
    });
  });
});
