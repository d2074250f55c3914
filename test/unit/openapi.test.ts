/**
 * The OpenAPI document is the contract (CONVENTIONS habit 8). This suite fails when the
 * committed types are stale, when the document does not lint, when a route of API.md is
 * missing from it, or when an operation does not say which token scope it needs.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { apiTypesPath, generateApiTypes, openapiPath } from "../../scripts/gen-api-types.js";

const root = path.resolve(path.dirname(openapiPath), "..");
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const scopes = new Set(["read", "publish", "deploy", "admin"]);

/** Every `METHOD path` of the tables in API.md, written as API.md writes them. */
const apiMdRoutes = [
  "GET /healthz",
  "GET /readyz",
  "GET /metrics",
  "GET /openapi.yaml",
  "GET /openapi.json",
  "PUT /v1/projects/{project}",
  "GET /v1/projects",
  "PUT /v1/projects/{p}/blobs/{digest}",
  "HEAD /v1/projects/{p}/blobs/{digest}",
  "GET /v1/projects/{p}/blobs/{digest}",
  "POST /v1/projects/{p}/artifacts/{kind}/{name}",
  "GET /v1/projects/{p}/artifacts/{kind}/{name}",
  "GET /v1/projects/{p}/artifacts/{kind}/{name}/versions/{ref}",
  "PUT /v1/projects/{p}/artifacts/{kind}/{name}/versions/{ref}",
  "PATCH /v1/projects/{p}/artifacts/{kind}/{name}/versions/{ref}",
  "DELETE /v1/projects/{p}/artifacts/{kind}/{name}/versions/{ref}",
  "POST /v1/projects/{p}/version-sets",
  "GET /v1/projects/{p}/version-sets",
  "GET /v1/projects/{p}/version-sets/{id}",
  "GET /v1/projects/{p}/version-sets/{id}/bundle",
  "GET /v1/projects/{p}/diff",
  "PUT /v1/projects/{p}/environments/{env}",
  "GET /v1/projects/{p}/environments/{env}",
  "POST /v1/projects/{p}/environments/{env}/deploy",
  "POST /v1/projects/{p}/environments/{env}/rollback",
  "GET /v1/projects/{p}/environments/{env}/history",
  "GET /v1/projects/{p}/environments/{env}/resolve",
  "GET /v1/projects/{p}/environments/{env}/watch",
  "PUT /v1/projects/{p}/environments/{env}/rollout",
  "GET /v1/projects/{p}/environments/{env}/rollout",
  "POST /v1/projects/{p}/environments/{env}/rollout/advance",
  "POST /v1/projects/{p}/environments/{env}/rollout/pause",
  "POST /v1/projects/{p}/environments/{env}/rollout/resume",
  "POST /v1/projects/{p}/environments/{env}/rollout/abort",
  "PUT /v1/projects/{p}/environments/{env}/gate-policy",
  "POST /v1/projects/{p}/environments/{env}/observations",
  "GET /v1/projects/{p}/environments/{env}/rollout/decision",
  "POST /v1/projects/{p}/environments/{env}/rollout/evidence",
  "GET /v1/projects/{p}/evidence/{id}",
  "POST /v1/projects/{p}/environments/{env}/unfreeze",
  "POST /v1/tokens",
  "GET /v1/tokens",
  "DELETE /v1/tokens/{id}",
  "GET /v1/projects/{p}/audit",
  "POST /v1/projects/{p}/webhooks",
  "GET /v1/projects/{p}/webhooks",
  "DELETE /v1/projects/{p}/webhooks/{id}",
  "GET /v1/projects/{p}/webhooks/{id}/deliveries",
];

/** Routes the document adds beyond API.md's tables (API.md allows adding endpoints). */
const addedRoutes = [
  "GET /v1/projects/{p}/environments",
  "GET /v1/projects/{p}/environments/{env}/gate-policy",
  "GET /v1/projects/{p}/environments/{env}/observations",
  // Every audit entry, including token changes (project null): admin only.
  "GET /v1/audit",
  // The project's artifacts, each with its latest version (issue 12: no dead ends).
  "GET /v1/projects/{p}/artifacts",
  // Rollout metrics read from Prometheus (issue 15).
  "PUT /v1/projects/{p}/environments/{env}/analysis",
  "GET /v1/projects/{p}/environments/{env}/analysis",
  "DELETE /v1/projects/{p}/environments/{env}/analysis",
  "GET /v1/projects/{p}/environments/{env}/analysis/runs",
  // Who am I: the console disables what the token may not do (issue 16).
  "GET /v1/tokens/self",
  // Incidents, degrade and the runbook (issue 17).
  "POST /v1/projects/{p}/environments/{env}/degrade",
  "GET /v1/projects/{p}/incidents",
  "POST /v1/projects/{p}/incidents",
  "GET /v1/projects/{p}/incidents/{id}",
  "POST /v1/projects/{p}/incidents/{id}/notes",
  "POST /v1/projects/{p}/incidents/{id}/close",
  "GET /v1/projects/{p}/environments/{env}/runbook",
  // On-call's freeze (issue 17's runbook: stop every change).
  "POST /v1/projects/{p}/environments/{env}/freeze",
  // Issue 18: retention settings and garbage collection.
  "GET /v1/projects/{p}/retention",
  "PUT /v1/projects/{p}/retention",
  "POST /v1/admin/gc",
  "GET /v1/admin/gc/runs",
];

/** Warnings accepted on purpose (see redocly.yaml): probes have no 4xx answer to document. */
const acceptedWarnings = new Set(
  ["/healthz", "/readyz", "/metrics", "/openapi.yaml", "/openapi.json"].map(
    (p) => `operation-4xx-response #/paths/${p.replaceAll("/", "~1")}/get/responses`,
  ),
);

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses?: Record<string, { $ref?: string; headers?: Record<string, unknown> }>;
  "x-pinset-scope"?: string;
}
interface Document {
  security?: Record<string, unknown>[];
  paths: Record<string, Partial<Record<(typeof methods)[number], Operation>>>;
  components: { responses: Record<string, { headers?: Record<string, unknown> }> };
}

/** `GET /v1/projects/{p}/x` and `GET /v1/projects/{project}/x` are the same route. */
const routeKey = (route: string): string => route.replace(/\{[^}]+\}/g, "{}");

let doc: Document;
const operations: { route: string; op: Operation }[] = [];

beforeAll(async () => {
  doc = parse(await readFile(openapiPath, "utf8")) as Document;
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of methods) {
      const op = item[method];
      if (op) operations.push({ route: `${method.toUpperCase()} ${p}`, op });
    }
  }
});

describe("openapi/pinset.yaml", () => {
  it("describes every route of API.md, and nothing it does not list", () => {
    const documented = new Set(operations.map(({ route }) => routeKey(route)));
    const missing = apiMdRoutes.filter((route) => !documented.has(routeKey(route)));
    expect(missing).toEqual([]);

    const listed = new Set([...apiMdRoutes, ...addedRoutes].map(routeKey));
    const unlisted = operations.map(({ route }) => route).filter((r) => !listed.has(routeKey(r)));
    expect(unlisted, "add new routes to addedRoutes in this test").toEqual([]);
  });

  it("names the token scope of every authenticated operation", () => {
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const wrong = operations
      .filter(({ op }) => {
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        const scope = op["x-pinset-scope"];
        return isPublic ? scope !== undefined : scope === undefined || !scopes.has(scope);
      })
      .map(({ route, op }) => `${route}: ${op["x-pinset-scope"] ?? "no scope"}`);
    expect(wrong).toEqual([]);
  });

  it("gives every operation a unique camelCase operationId, a summary and one tag", () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(ids.filter((id) => !id || !/^[a-z][a-zA-Z0-9]*$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations.filter(({ op }) => !op.summary || op.tags?.length !== 1)).toEqual([]);
  });

  it("echoes x-trace-id on every response", () => {
    const lacking: string[] = [];
    for (const { route, op } of operations) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const name = response.$ref?.replace("#/components/responses/", "");
        const headers = name ? doc.components.responses[name]?.headers : response.headers;
        if (!headers?.["x-trace-id"]) lacking.push(`${route} ${status}`);
      }
    }
    expect(lacking).toEqual([]);
  });

  it("lints without errors or unexpected warnings", { timeout: 20_000 }, async () => {
    const redocly = path.join(root, "node_modules", ".bin", "redocly");
    const args = ["lint", path.relative(root, openapiPath), "--format=json"];
    // redocly exits 1 when there are errors; the JSON report is on stdout either way.
    const stdout = await promisify(execFile)(redocly, args, {
      cwd: root,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      timeout: 18_000,
    }).then(
      (r) => r.stdout,
      (error: { stdout?: string }) => error.stdout ?? "",
    );
    const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    const unexpected = report.problems
      .map((p) => ({ ...p, key: `${p.ruleId} ${p.location[0]?.pointer ?? ""}` }))
      .filter((p) => p.severity === "error" || !acceptedWarnings.has(p.key))
      .map((p) => `${p.severity} ${p.key}: ${p.message}`);
    expect(unexpected).toEqual([]);
  });
});

describe("src/client/api-types.ts", () => {
  it("is what scripts/gen-api-types.ts generates (run `npm run gen:api`)", { timeout: 20_000 }, async () => {
    const committed = await readFile(apiTypesPath, "utf8");
    expect(committed === (await generateApiTypes()), "api-types.ts is stale: npm run gen:api").toBe(true);
  });
});
