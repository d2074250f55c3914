/**
 * resolve is served ahead of the router (http/hot-routes.ts) and logs its hits at debug: the
 * answers, the checks before them, the log lines and the metrics must be those of any /v1 route.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../support/tokens.js";
import { deployedEnv, envPath, makeSets } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

interface LogLine {
  level: number;
  msg: string;
  trace_id?: string;
  req?: { method: string; url: string; remote_address?: string };
  res?: { status: number };
  responseTime?: number;
}

const INFO = 30;
const WARN = 40;

/** A GET with a body, which fetch cannot send. */
function getWithBody(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "GET", headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe.each(backends())("resolve's hot path on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  const resolvePath = envPath("hot", "prod", "/resolve");
  const linesOf = (traceId: string) => t.logs.lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.trace_id === traceId);

  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/hot")).status).toBe(201);
    sets = await makeSets(t, "hot", 2, "hot");
    // The deploy's own notification must have arrived before the first resolve fills the cache.
    const notified = new Promise<void>((resolve) => {
      const off = t.feed!.subscribe({ onChange: (c) => c.environment === "prod" && (off(), resolve()) });
    });
    await deployedEnv(t, "hot", "prod", sets[0]!);
    await notified;
  });
  afterAll(async () => t?.close());

  it("logs a resolve answered from memory at debug, the one that read the database at info, a refusal at warn — each with its trace id", async () => {
    const cold = await t.request("GET", resolvePath, { headers: { "x-trace-id": "resolve-cold" } });
    const hot = await t.request("GET", resolvePath, { headers: { "x-trace-id": "resolve-hot" } });
    expect(cold.status).toBe(200);
    expect(hot.status).toBe(200);
    expect(hot.headers.get("x-trace-id")).toBe("resolve-hot");
    expect(await hot.text()).toBe(await cold.text());
    const missing = await t.request("GET", envPath("hot", "nope", "/resolve"), { headers: { "x-trace-id": "resolve-404" } });
    expect(missing.status).toBe(404);
    await new Promise((r) => setTimeout(r, 50));

    expect(linesOf("resolve-cold")).toEqual([
      expect.objectContaining({ level: INFO, msg: "request completed", req: expect.objectContaining({ method: "GET", url: resolvePath }), res: { status: 200 } }),
    ]);
    expect(linesOf("resolve-cold")[0]!.req!.remote_address).toMatch(/127\.0\.0\.1/);
    // The test logger is at info: the hit's debug line is not written.
    expect(linesOf("resolve-hot")).toEqual([]);
    expect(linesOf("resolve-404")).toEqual([expect.objectContaining({ level: WARN, msg: "request completed", res: { status: 404 } })]);
  });

  it("answers every spelling the router accepts like the canonical path: trailing slash, upper-case literals, %-encoded names, HEAD, If-None-Match", async () => {
    const canonical = await t.request("GET", resolvePath);
    const etag = canonical.headers.get("etag");
    const body = await canonical.text();
    for (const spelling of [`${resolvePath}/`, "/V1/Projects/hot/Environments/prod/Resolve", "/v1/projects/%68ot/environments/pro%64/resolve"]) {
      const res = await t.request("GET", spelling);
      expect(res.status, spelling).toBe(200);
      expect(res.headers.get("etag"), spelling).toBe(etag);
      expect(await res.text(), spelling).toBe(body);
    }
    const head = await t.request("HEAD", resolvePath);
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(etag);
    expect(await head.text()).toBe("");
    const notModified = await t.request("GET", resolvePath, { headers: { "if-none-match": etag! } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("x-pinset-version-set")).toBe(sets[0]);
    // Names the router decodes and then refuses are refused the same way.
    expect((await t.request("GET", "/v1/projects/hot/environments/Pro%64/resolve")).status).toBe(400);
  });

  it("runs the /v1 chain first: JSON body, authentication, visibility before scope", async () => {
    expect((await t.request("GET", resolvePath, { token: null })).status).toBe(401);
    expect((await t.request("GET", resolvePath, { token: "pst_unknown" })).status).toBe(401);
    const other = await createToken(t, { scopes: ["read"], projects: ["elsewhere"] });
    const hidden = await t.request("GET", resolvePath, { token: other.token });
    expect(hidden.status).toBe(404);
    expect((await hidden.json()) as { code: string }).toMatchObject({ code: "not_found" });
    const otherEnv = await createToken(t, { scopes: ["read"], projects: ["hot"], environments: ["staging"] });
    expect((await t.request("GET", resolvePath, { token: otherEnv.token })).status).toBe(404);
    const reader = await createToken(t, { scopes: ["read"], projects: ["hot"], environments: ["prod"] });
    expect((await t.request("GET", resolvePath, { token: reader.token })).status).toBe(200);
    const malformed = await getWithBody(`${t.url}${resolvePath}`, '{"broken":', {});
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ code: "malformed_json" });
  });

  it("counts resolves under their route template in /metrics, and follows a deploy at once", async () => {
    await t.request("GET", resolvePath);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/pinset_http_requests_total\{method="GET",route="\/v1\/projects\/:project\/environments\/:env\/resolve",status="200"\} [1-9]/);
    expect(metrics).toMatch(/pinset_http_request_duration_seconds_count\{method="GET",route="\/v1\/projects\/:project\/environments\/:env\/resolve"\} [1-9]/);
    const deployed = await t.request("POST", envPath("hot", "prod", "/deploy"), { body: { version_set: sets[1] } });
    expect(deployed.status).toBe(200);
    expect((await t.request("GET", resolvePath)).headers.get("x-pinset-version-set")).toBe(sets[1]);
  });
});
