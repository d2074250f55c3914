/**
 * Every /v1 route declares a scope, the OpenAPI document agrees with it, and the one
 * authorization middleware enforces it. The route list is the app's own RouteSpec registry,
 * so a route added later is covered without touching this file.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPES } from "../../src/core/principal.js";
import { OPENAPI_PATH } from "../../src/http/service-routes.js";
import type { RouteSpec } from "../../src/http/routes.js";
import { sha256Digest } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken, type CreatedToken } from "../support/tokens.js";

/** Express `:param` → OpenAPI `{param}`, under /v1. */
const openapiPath = (route: RouteSpec) => `/v1${route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`;

/** Values that pass each parameter's syntax, so only authorization decides the answer. */
const SAMPLE_PARAMS: Record<string, string> = {
  project: "alpha",
  env: "staging",
  kind: "prompt",
  name: "greeting",
  ref: "latest",
  digest: sha256Digest("route-scopes"),
  id: "vs_000000000000000000000000",
};

function concretePath(route: RouteSpec, params: Record<string, string> = {}): string {
  return `/v1${route.path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    const value = params[name] ?? SAMPLE_PARAMS[name];
    if (value === undefined) throw new Error(`no sample value for :${name} in ${route.path}; add one to SAMPLE_PARAMS`);
    return encodeURIComponent(value);
  })}`;
}

const label = (r: RouteSpec) => `${r.method.toUpperCase()} ${r.path}`;

describe.each(backends())("route scopes on $name", (backend) => {
  let t: TestApp;
  let routes: RouteSpec[];
  /** Sees alpha, lacks the named scope (every scope implies read, so none lacks read). */
  const lacking: Partial<Record<(typeof SCOPES)[number], CreatedToken>> = {};
  /** Has the named scope (and implied ones) on alpha only. */
  const holding: Partial<Record<(typeof SCOPES)[number], CreatedToken>> = {};
  let otherProject: CreatedToken;
  let otherEnvironment: CreatedToken;
  /** May see a project "ghost" that does not exist. */
  let seesGhost: CreatedToken;

  beforeAll(async () => {
    t = await startTestApp(backend);
    routes = t.pinset.routes;
    for (const p of ["alpha", "beta"]) expect((await t.request("PUT", `/v1/projects/${p}`)).status).toBe(201);
    lacking.publish = await createToken(t, { scopes: ["read"], projects: ["alpha"] });
    lacking.deploy = await createToken(t, { scopes: ["read", "publish"], projects: ["alpha"] });
    lacking.admin = await createToken(t, { scopes: ["read", "publish", "deploy"], projects: ["*"] });
    holding.read = lacking.publish;
    holding.publish = await createToken(t, { scopes: ["publish"], projects: ["alpha"] });
    holding.deploy = await createToken(t, { scopes: ["deploy"], projects: ["alpha"] });
    holding.admin = await createToken(t, { scopes: ["admin"], projects: ["*"] });
    otherProject = await createToken(t, { scopes: ["read", "publish", "deploy"], projects: ["beta"] });
    seesGhost = await createToken(t, { scopes: ["read", "publish", "deploy"], projects: ["beta", "ghost"] });
    otherEnvironment = await createToken(t, { scopes: ["read", "publish", "deploy"], projects: ["alpha"], environments: ["production"] });
  });
  afterAll(async () => t?.close());

  /** Status, content type and body; streams (watch) are cancelled once the headers are in. */
  async function call(route: RouteSpec, token: string | null, params?: Record<string, string>) {
    const res = await t.request(route.method.toUpperCase(), concretePath(route, params), { token });
    const type = res.headers.get("content-type") ?? "";
    if (type.startsWith("text/event-stream")) {
      await res.body?.cancel();
      return { status: res.status, type, body: undefined };
    }
    const text = await res.text();
    // JSON and problem+json are parsed; another body (the runbook's markdown) is kept as text.
    const json = /json/.test(type);
    return { status: res.status, type, body: text && json ? (JSON.parse(text) as { code?: string }) : text ? ({ text } as { code?: string; text?: string }) : undefined };
  }

  it("gives every /v1 route a scope", () => {
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) expect(SCOPES, label(route)).toContain(route.scope);
  });

  it("declares the same scope as the OpenAPI document's x-pinset-scope, and serves every operation of it", async () => {
    const doc = parse(await readFile(OPENAPI_PATH, "utf8")) as { paths: Record<string, Record<string, { "x-pinset-scope"?: string }>> };
    const problems: string[] = [];
    for (const route of routes) {
      const op = doc.paths[openapiPath(route)]?.[route.method];
      if (!op) problems.push(`${label(route)}: not in openapi/pinset.yaml (${route.method} ${openapiPath(route)})`);
      else if (op["x-pinset-scope"] !== route.scope) problems.push(`${label(route)}: server says ${route.scope}, the document says ${op["x-pinset-scope"]}`);
    }
    expect(problems).toEqual([]);
    // And the other way: every /v1 operation of the document is served.
    const served = new Set(routes.map((r) => `${r.method} ${openapiPath(r)}`));
    const methods = new Set(["get", "put", "post", "delete", "patch", "head"]);
    const unserved = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/"))
      .flatMap(([path, item]) => Object.keys(item).filter((m) => methods.has(m)).map((m) => `${m} ${path}`))
      .filter((op) => !served.has(op));
    expect(unserved).toEqual([]);
  });

  it("answers 401 problem+json without a token, on every route", async () => {
    for (const route of routes) {
      const res = await call(route, null);
      expect(res.status, label(route)).toBe(401);
      if (route.method !== "head") {
        expect(res.type, label(route)).toMatch(/^application\/problem\+json/);
        expect(res.body?.code, label(route)).toBe("unauthorized");
      }
    }
  });

  it("answers 403 to a token that sees the project but lacks the route's scope", async () => {
    const checked: string[] = [];
    for (const route of routes) {
      const token = lacking[route.scope];
      if (!token) continue; // read: every scope implies it, no token lacks it
      const res = await call(route, token.token);
      expect(res.status, label(route)).toBe(403);
      if (route.method !== "head") expect(res.body?.code, label(route)).toBe("forbidden");
      checked.push(label(route));
    }
    expect(checked.length).toBeGreaterThan(3);
  });

  it("answers 404 (never 403) to a token of another project, whatever its scopes, on every project route", async () => {
    const projectRoutes = routes.filter((r) => r.path.includes(":project"));
    expect(projectRoutes.length).toBeGreaterThan(5);
    for (const route of projectRoutes) {
      const res = await call(route, otherProject.token);
      expect(res.status, label(route)).toBe(404);
      if (route.method !== "head") expect(res.body?.code, label(route)).toBe("not_found");
      // Word for word what a token that may see a project gets when it does not exist.
      const ghost = await call(route, seesGhost.token, { project: "ghost" });
      if (route.method !== "head" && ghost.status === 404) {
        const strip = (b: unknown) => ({ ...(b as object), trace_id: undefined });
        expect(strip(res.body), label(route)).toEqual(strip(JSON.parse(JSON.stringify(ghost.body).replaceAll("ghost", "alpha"))));
      }
    }
  });

  it("answers 404 to a token limited to other environments, on every environment route", async () => {
    const envRoutes = routes.filter((r) => r.path.includes(":env"));
    for (const route of envRoutes) {
      const res = await call(route, otherEnvironment.token);
      expect(res.status, label(route)).toBe(404);
    }
  });

  it("lets a token holding the scope past authorization on every route", async () => {
    for (const route of routes) {
      const res = await call(route, holding[route.scope]!.token);
      expect([401, 403], `${label(route)} answered ${res.status}`).not.toContain(res.status);
    }
  });
});
