import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = await res.json();
  expect(body).toMatchObject({ status, code });
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(body.trace_id).toBe(res.headers.get("x-trace-id"));
  expect(JSON.stringify(body)).not.toMatch(/\s+at\s.+\.(ts|js):\d+/);
  return body;
}

describe.each(backends())("HTTP basics on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { limits: { maxJsonBytes: 64 * 1024 } });
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  it("serves health, readiness, metrics and the OpenAPI document without a token", async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    // Without an admin token: the verdict only (issue 11: no hosts and ports for anyone who asks).
    expect(await ready.json()).toEqual({ status: "ready", failed: [] });
    const detailed = await t.request("GET", "/readyz");
    expect(await detailed.json()).toMatchObject({
      status: "ready",
      failed: [],
      checks: [
        { name: "database", ok: true, ms: expect.any(Number) },
        { name: "blob_store", ok: true, ms: expect.any(Number) },
      ],
    });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain("pinset_http_requests_total");
    expect(metrics).toContain('route="/v1/projects/:project"');
    expect(metrics).toContain("pinset_http_request_duration_seconds_bucket");
    const yaml = await fetch(`${t.url}/openapi.yaml`);
    expect(yaml.status).toBe(200);
    expect(await yaml.text()).toMatch(/^openapi: 3\.1/m);
    const json = await (await fetch(`${t.url}/openapi.json`)).json();
    expect(json.paths["/v1/projects/{project}/artifacts/{kind}/{name}"]).toBeDefined();
  });

  it("answers 401 without a token or with an unknown one", async () => {
    await expectProblem(await t.request("GET", "/v1/projects", { token: null }), 401, "unauthorized");
    await expectProblem(await t.request("GET", "/v1/projects", { token: "pst_nope" }), 401, "unauthorized");
    await expectProblem(await t.request("GET", "/v1/projects", { headers: { authorization: "Basic abc" } }), 401, "unauthorized");
  });

  it("echoes a safe x-trace-id, replaces an unsafe one, and logs it on the request line", async () => {
    const res = await t.request("GET", "/v1/projects", { headers: { "x-trace-id": "ci-run:42.abc_DEF-1" } });
    expect(res.headers.get("x-trace-id")).toBe("ci-run:42.abc_DEF-1");
    const line = t.logs.lines.map((l) => JSON.parse(l)).find((l) => l.trace_id === "ci-run:42.abc_DEF-1");
    expect(line).toMatchObject({ msg: "request completed", res: { status: 200 } });

    const unsafe = await t.request("GET", "/v1/projects", { headers: { "x-trace-id": "a b<script>" } });
    expect(unsafe.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    const long = await t.request("GET", "/v1/projects", { headers: { "x-trace-id": "x".repeat(129) } });
    expect(long.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("never logs the bearer token", async () => {
    await t.request("GET", "/v1/projects");
    expect(t.logs.text).not.toContain("test-admin-token");
    expect(t.logs.text.toLowerCase()).not.toContain("authorization");
  });

  it("answers problem+json for unknown routes, malformed JSON, oversize JSON and missing bodies", async () => {
    await expectProblem(await t.request("GET", "/v1/nothing-here"), 404, "not_found");
    await expectProblem(await t.request("GET", "/nothing-here"), 404, "not_found");
    await expectProblem(
      await t.request("POST", "/v1/projects/demo/artifacts/config/c", { raw: '{"content": {', headers: { "content-type": "application/json" } }),
      400,
      "malformed_json",
    );
    const big = JSON.stringify({ content: { values: { blob: "x".repeat(70 * 1024) } } });
    await expectProblem(await t.request("POST", "/v1/projects/demo/artifacts/config/c", { raw: big, headers: { "content-type": "application/json" } }), 413, "payload_too_large");
    await expectProblem(await t.request("POST", "/v1/projects/demo/artifacts/config/c", { raw: "values=1", headers: { "content-type": "text/plain" } }), 400, "validation_failed");
  });

  it("rejects unknown kinds, bad names and bad refs with 400 and field errors", async () => {
    const kind = await expectProblem(await t.request("POST", "/v1/projects/demo/artifacts/widget/w", { body: { content: {} } }), 400, "validation_failed");
    expect(kind.errors[0].path).toBe("params.kind");
    const name = await expectProblem(await t.request("POST", "/v1/projects/demo/artifacts/config/Bad_Name", { body: { content: { values: {} } } }), 400, "validation_failed");
    expect(name.errors[0].path).toBe("params.name");
    await expectProblem(await t.request("PUT", "/v1/projects/-leading-dash"), 400, "validation_failed");
    await expectProblem(await t.request("PUT", `/v1/projects/${"a".repeat(129)}`), 400, "validation_failed");
    await expectProblem(await t.request("GET", "/v1/projects/demo/artifacts/config/c/versions/v1"), 400, "validation_failed");
    await expectProblem(await t.request("GET", "/v1/projects/demo/artifacts/config/c/versions/0"), 400, "validation_failed");
  });

  it("answers 422 with every content problem, and stores nothing", async () => {
    const bad = await expectProblem(
      await t.request("POST", "/v1/projects/demo/artifacts/model/m", { body: { content: { provider: "", extra: 1 } } }),
      422,
      "validation_failed",
    );
    expect(bad.errors.map((e: { path: string }) => e.path).sort()).toEqual(["content.extra", "content.model", "content.provider"].sort());
    const contract = await expectProblem(
      await t.request("POST", "/v1/projects/demo/artifacts/contract/answer", { body: { content: { schema: { type: "nonsense" } } } }),
      422,
      "validation_failed",
    );
    expect(contract.errors[0].path).toBe("content.schema");
    await expectProblem(
      await t.request("POST", "/v1/projects/demo/artifacts/contract/answer", { body: { content: { schema: { $ref: "https://example.invalid/s.json" } } } }),
      422,
      "validation_failed",
    );
    await expectProblem(await t.request("GET", "/v1/projects/demo/artifacts/model/m"), 404, "not_found");
  });

  it("answers 405 with allow: GET for any change to a version", async () => {
    await t.request("POST", "/v1/projects/demo/artifacts/config/immutable", { body: { content: { values: { a: 1 } } } });
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const res = await t.request(method, "/v1/projects/demo/artifacts/config/immutable/versions/1", { body: { content: { values: { a: 2 } } } });
      await expectProblem(res, 405, "method_not_allowed");
      expect(res.headers.get("allow")).toBe("GET");
    }
    const still = await (await t.request("GET", "/v1/projects/demo/artifacts/config/immutable/versions/1")).json();
    expect(still.content).toEqual({ values: { a: 1 } });
  });

  it("creates projects idempotently and lists them newest first", async () => {
    expect((await t.request("PUT", "/v1/projects/second", { body: { description: "two" } })).status).toBe(201);
    const again = await t.request("PUT", "/v1/projects/second", { body: { description: "changed" } });
    expect(again.status).toBe(200);
    expect((await again.json()).description).toBe("two");
    const list = await (await t.request("GET", "/v1/projects")).json();
    expect(list.items.map((p: { name: string }) => p.name).slice(0, 2)).toEqual(["second", "demo"]);
    expect(list.next_cursor).toBeNull();
    await expectProblem(await t.request("GET", "/v1/projects?limit=0"), 400, "validation_failed");
    await expectProblem(await t.request("GET", "/v1/projects?cursor=garbage"), 400, "validation_failed");
  });
});
