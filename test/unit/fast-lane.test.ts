/**
 * The fast lane answers only what it can answer exactly like the router; everything else must
 * reach the router untouched. Real HTTP over a real node server; the router, the token cache and
 * the route's answer are stand-ins.
 */
import http, { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/principal.js";
import type { FastResponse } from "../../src/http/fast-answer.js";
import { fastLane } from "../../src/http/fast-lane.js";
import { createMetrics } from "../../src/http/metrics.js";
import { createRateLimit } from "../../src/http/rate-limit.js";
import type { RouteSpec } from "../../src/http/routes.js";
import { traceIdGenerator } from "../../src/http/trace-id.js";
import { createLogger } from "../../src/logger.js";
import { LogCapture } from "../support/test-app.js";

const reader: Principal = { tokenId: "tok_reader", name: "reader", scopes: new Set(["read"]), projects: new Set(["shop"]) };
const publisher: Principal = { tokenId: "tok_pub", name: "pub", scopes: new Set(["publish"]), projects: "*", environments: new Set(["staging"]) };
const noScopes: Principal = { tokenId: "tok_none", name: "none", scopes: new Set(), projects: "*" };
const tokens = new Map<string, Principal | null>([
  ["pst_reader", reader],
  ["pst_publisher", publisher],
  ["pst_none", noScopes],
  ["pst_revoked", null],
]);

const BODY = Buffer.from('{"id":"vs_1"}');
const OK: FastResponse = { status: 200, headers: ["etag", '"vs_1"', "content-type", "application/json", "content-length", String(BODY.length)], body: BODY };

interface Lane {
  url: string;
  logs: LogCapture;
  metrics: ReturnType<typeof createMetrics>;
  routerSaw: string[];
  answers: Array<{ params: Record<string, string>; query?: string | undefined }>;
  server: Server;
}

async function startLane(options: { answer?: () => FastResponse | undefined; rps?: number; burst?: number; level?: string; before?: RouteSpec[] } = {}): Promise<Lane> {
  const logs = new LogCapture();
  const logger = createLogger({ level: options.level ?? "debug", destination: logs });
  const metrics = createMetrics({ defaultMetrics: false });
  const routerSaw: string[] = [];
  const answers: Lane["answers"] = [];
  const spec: RouteSpec = {
    method: "get",
    path: "/projects/:project/environments/:env/resolve",
    scope: "read",
    handler: () => undefined,
    // Like resolve: reads `subject=` and no other query (the lane hands it the raw string).
    fast: (params, _req, query) => {
      answers.push({ params: { ...params }, query });
      if (query !== undefined && !query.startsWith("subject=")) return undefined;
      return (options.answer ?? (() => OK))();
    },
  };
  const listener = fastLane(
    {
      prefix: "/v1",
      specs: [...(options.before ?? []), spec],
      tokens: { peek: (secret) => (tokens.has(secret) ? tokens.get(secret) : undefined) },
      rateLimit: createRateLimit({ rps: options.rps ?? 0, burst: options.burst ?? 0 }),
      recorder: metrics.http,
      logger,
      traceIds: traceIdGenerator(),
    },
    (req, res) => {
      routerSaw.push(`${req.method} ${req.url}`);
      res.writeHead(299, { "x-answered-by": "router" }).end("router");
    },
  );
  const server = createServer(listener).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs, metrics, routerSaw, answers, server };
}

function call(lane: Lane, path: string, init: { method?: string; token?: string | null; headers?: Record<string, string>; body?: string } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? "pst_reader"}`;
  // Node's client sends a GET body without framing unless told its length.
  if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    // `path` as an option, not in a URL: a URL would drop an empty query string.
    const req = http.request(lane.url, { path, method: init.method ?? "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

const PATH = "/v1/projects/shop/environments/prod/resolve";

describe("fast lane", () => {
  let lane: Lane;
  beforeAll(async () => {
    lane = await startLane();
  });
  afterAll(async () => {
    lane.server.close();
  });
  afterEach(() => {
    lane.routerSaw.length = 0;
    lane.answers.length = 0;
  });

  it("answers a hit itself: the route's headers and body, a trace id, the path's parameters as sent", async () => {
    const res = await call(lane, PATH);
    expect(res.status).toBe(200);
    expect(res.body).toBe(BODY.toString());
    expect(res.headers).toMatchObject({ etag: '"vs_1"', "content-type": "application/json", "content-length": String(BODY.length) });
    expect(res.headers["x-trace-id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(lane.answers).toEqual([{ params: { project: "shop", env: "prod" } }]);
    expect(lane.routerSaw).toEqual([]);
  });

  it("accepts what the router's matching accepts: a trailing slash, upper-case literals", async () => {
    for (const path of [`${PATH}/`, "/V1/Projects/shop/ENVIRONMENTS/prod/Resolve"]) {
      expect((await call(lane, path)).body, path).toBe(BODY.toString());
    }
    expect(lane.routerSaw).toEqual([]);
  });

  it("hands the route the raw query string after `?` and sends what it answers", async () => {
    for (const path of [`${PATH}?subject=u%2D1+x`, `${PATH}/?subject=`]) {
      expect((await call(lane, path)).body, path).toBe(BODY.toString());
    }
    expect(lane.answers.map((a) => a.query)).toEqual(["subject=u%2D1+x", "subject="]);
    expect(lane.routerSaw).toEqual([]);
  });

  it("echoes a safe client trace id and replaces an unsafe one", async () => {
    expect((await call(lane, PATH, { headers: { "x-trace-id": "client-trace.1" } })).headers["x-trace-id"]).toBe("client-trace.1");
    expect((await call(lane, PATH, { headers: { "x-trace-id": "bad id with spaces" } })).headers["x-trace-id"]).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ["HEAD", { method: "HEAD" }, PATH],
    ["another method", { method: "POST" }, PATH],
    ["a query string the route does not read", {}, `${PATH}?at=2026-01-01T00:00:00Z`],
    ["an empty query string", {}, `${PATH}?`],
    ["a query parseurl reads its own way (a fragment)", {}, `${PATH}?subject=a#b`],
    ["a %-encoded name (the router decodes it)", {}, "/v1/projects/sh%6fp/environments/prod/resolve"],
    ["a body", { body: "{}", headers: { "content-type": "application/json" } }, PATH],
    ["another path", {}, "/v1/projects/shop/environments/prod/history"],
    ["no Authorization header", { token: null }, PATH],
    ["a token the cache does not hold", { token: "pst_unknown" }, PATH],
    ["a token the cache knows to be invalid", { token: "pst_revoked" }, PATH],
    ["a project the token cannot see", { token: "pst_reader" }, "/v1/projects/other/environments/prod/resolve"],
    ["an environment the token cannot see", { token: "pst_publisher" }, PATH],
    ["a token without the scope", { token: "pst_none" }, PATH],
  ] as const)("leaves %s to the router", async (_what, init, path) => {
    const res = await call(lane, path, init as Parameters<typeof call>[2]);
    expect(res.status).toBe(299);
    expect(res.headers["x-answered-by"]).toBe("router");
    expect(lane.routerSaw).toHaveLength(1);
  });

  it("counts its answers in /metrics under the route template and logs them at debug with the trace id, never the token", async () => {
    const count = async () =>
      (await lane.metrics.http.httpRequests.get()).values.find((v) => v.labels.route === "/v1/projects/:project/environments/:env/resolve" && v.labels.status === "200")?.value ?? 0;
    const before = await count();
    await call(lane, PATH, { headers: { "x-trace-id": "counted-1" } });
    expect((await count()) - before).toBe(1);
    const lines = lane.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.trace_id === "counted-1");
    expect(lines).toEqual([
      expect.objectContaining({ level: 20, msg: "request completed", req: expect.objectContaining({ method: "GET", url: PATH }), res: { status: 200 } }),
    ]);
    expect(lane.logs.text).not.toContain("pst_reader");
  });
});

describe("fast lane, other configurations", () => {
  const lanes: Lane[] = [];
  afterAll(() => lanes.forEach((l) => l.server.close()));
  const start = async (options: Parameters<typeof startLane>[0]) => {
    const l = await startLane(options);
    lanes.push(l);
    return l;
  };

  it("refuses, when built, a route that declares a checked answer without being direct (the lane would never send it)", async () => {
    const checkedOnly: RouteSpec = { method: "get", path: "/projects/:project/diff", scope: "read", handler: () => undefined, checked: () => undefined };
    await expect(startLane({ before: [checkedOnly] })).rejects.toThrow("/v1/projects/:project/diff declares a checked answer: it must be a direct route too");
  });

  it("leaves a miss (no answer in memory) to the router", async () => {
    const lane = await start({ answer: () => undefined });
    expect((await call(lane, PATH)).status).toBe(299);
    expect(lane.answers).toHaveLength(1);
  });

  it("charges the token's rate limit once per answer and leaves a refused request to the router (which answers 429)", async () => {
    const lane = await start({ rps: 0.001, burst: 2 });
    expect((await call(lane, PATH)).status).toBe(200);
    expect((await call(lane, PATH)).status).toBe(200);
    expect((await call(lane, PATH)).status).toBe(299);
    expect(lane.routerSaw).toEqual([`GET ${PATH}`]);
  });

  it("writes no line at info (a hit's line is debug)", async () => {
    const lane = await start({ level: "info" });
    expect((await call(lane, PATH)).status).toBe(200);
    expect(lane.logs.lines).toEqual([]);
  });

  it("leaves a path to the router when a route mounted earlier matches it too (the router runs the first match)", async () => {
    const earlier: RouteSpec = { method: "get", path: "/projects/:project/environments/:env/:what", scope: "read", handler: () => undefined };
    const shadowed = await start({ before: [earlier] });
    expect((await call(shadowed, PATH)).status).toBe(299);
    expect(shadowed.answers).toEqual([]);
    // A route of another method, or of another length, takes nothing from it.
    const other = await start({ before: [{ ...earlier, method: "post" }, { ...earlier, path: "/projects/:project/environments/:env/:what/:more" }] });
    expect((await call(other, PATH)).status).toBe(200);
  });

  it("hands the request to the router when the answer throws, and logs the bug", async () => {
    const lane = await start({
      answer: () => {
        throw new Error("boom");
      },
    });
    expect((await call(lane, PATH)).status).toBe(299);
    expect(lane.logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toContainEqual(expect.objectContaining({ level: 50, msg: "fast lane failed" }));
  });
});
