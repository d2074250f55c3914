/**
 * resolve's answers from memory are sent by the fast lane ahead of express (http/fast-lane.ts)
 * and logged at debug: the answers, the checks before them, the log lines, the metrics and the
 * rate limit must be those of any /v1 route, and the same whether the lane or the router answers.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignSubject } from "../../src/rollouts/assignment.js";
import { createToken } from "../support/tokens.js";
import { deployedEnv, envPath, makeSets, startRollout } from "../support/rollouts.js";
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

/** Resolves once the change feed announced a change of `environment` (the next one from now). */
function feedNotices(t: TestApp, environment: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const off = t.feed!.subscribe({ onChange: (c) => c.environment === environment && (off(), resolve()) });
  });
}

/** Creates project `hot` with two sets and deploys the first to prod, its notification received. */
async function prepare(t: TestApp): Promise<string[]> {
  expect((await t.request("PUT", "/v1/projects/hot")).status).toBe(201);
  const sets = await makeSets(t, "hot", 2, "hot");
  // The deploy's own notification must have arrived before the first resolve fills the cache.
  const notified = feedNotices(t, "prod");
  await deployedEnv(t, "hot", "prod", sets[0]!);
  await notified;
  return sets;
}

/** Every header but those that differ per request. */
function stableHeaders(res: Response): Record<string, string> {
  const headers = Object.fromEntries(res.headers);
  delete headers.date;
  delete headers["x-trace-id"];
  return headers;
}

describe.each(backends())("resolve's hot path on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  const resolvePath = envPath("hot", "prod", "/resolve");
  const linesOf = (traceId: string) => t.logs.lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.trace_id === traceId);

  beforeAll(async () => {
    t = await startTestApp(backend);
    sets = await prepare(t);
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

  it("sends the same response from the lane as from the router (a query string takes the router), 200 and 304 alike", async () => {
    await t.request("GET", resolvePath);
    const lane = await t.request("GET", resolvePath, { headers: { "x-trace-id": "via-lane" } });
    const router = await t.request("GET", `${resolvePath}?unused=1`, { headers: { "x-trace-id": "via-router" } });
    expect(lane.status).toBe(200);
    expect(stableHeaders(lane)).toEqual(stableHeaders(router));
    expect(await lane.text()).toBe(await router.text());
    expect(lane.headers.get("x-trace-id")).toBe("via-lane");
    await new Promise((r) => setTimeout(r, 50));
    // Only the router's answer has an info line: the lane's is a hit, logged at debug.
    expect(linesOf("via-router")).toHaveLength(1);
    expect(linesOf("via-lane")).toEqual([]);

    const etag = lane.headers.get("etag")!;
    const laneNotModified = await t.request("GET", resolvePath, { headers: { "if-none-match": `"vs_other", ${etag}` } });
    const routerNotModified = await t.request("GET", `${resolvePath}?unused=1`, { headers: { "if-none-match": `"vs_other", ${etag}` } });
    expect(laneNotModified.status).toBe(304);
    expect(stableHeaders(laneNotModified)).toEqual(stableHeaders(routerNotModified));
    expect(await laneNotModified.text()).toBe("");
  });

  it("runs the /v1 chain first: authentication, visibility before scope, then the JSON body", async () => {
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
    // A body is read only once the token is known (issue 11): without one, 401 before parsing.
    expect((await getWithBody(`${t.url}${resolvePath}`, '{"broken":', {})).status).toBe(401);
    const malformed = await getWithBody(`${t.url}${resolvePath}`, '{"broken":', { authorization: `Bearer ${reader.token}` });
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

describe.each(backends())("resolve's hot path with rate limits on $name", (backend) => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it("charges hits to the token's bucket like any request: past the burst, 429 problem+json with Retry-After", async () => {
    t = await startTestApp(backend, { rateLimit: { rps: 0.01, burst: 30 } });
    await prepare(t);
    const path = envPath("hot", "prod", "/resolve");
    // A token of its own: its bucket holds 30 and nothing else draws on it.
    const reader = await createToken(t, { scopes: ["read"], projects: ["hot"] });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await t.request("GET", path, { token: reader.token })).status);
    expect(statuses).toEqual(Array(30).fill(200));
    const refused = await t.request("GET", path, { token: reader.token });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe.each(backends())("resolve?subject= on the hot path on $name", (backend) => {
  let t: TestApp;
  let rolloutId: string;
  const resolvePath = envPath("hot", "prod", "/resolve");
  const linesOf = (traceId: string) => t.logs.lines.map((l) => JSON.parse(l) as LogLine).filter((l) => l.trace_id === traceId);
  /**
   * The lane answers `?subject=` alone; an extra parameter (which the router ignores) takes the
   * router. The lane also needs the token in the token cache, which holds it for 1 s: it is
   * re-read through the router just before, so that a slow machine does not send the request to
   * the router for that reason.
   */
  const viaLane = async (query: string, headers: Record<string, string> = {}) => {
    t.pinset.services.tokens.invalidate();
    // Another route: a plain resolve would also fill the resolve cache's bundle.
    await (await t.request("GET", "/v1/projects/hot")).arrayBuffer();
    return t.request("GET", `${resolvePath}?${query}`, { headers });
  };
  const viaRouter = (query: string, headers: Record<string, string> = {}) => t.request("GET", `${resolvePath}?${query}&unused=1`, { headers });
  const subjectOn = (side: "candidate" | "stable") => {
    for (let i = 0; ; i++) if (assignSubject({ rolloutId, subject: `user-${i}`, percent: 50 }) === side) return `user-${i}`;
  };

  beforeAll(async () => {
    t = await startTestApp(backend);
    const sets = await prepare(t);
    // Memory is trusted only once the rollout's own notification has arrived (as for deploy).
    const notified = feedNotices(t, "prod");
    rolloutId = (await startRollout(t, "hot", "prod", { candidate: sets[1], percent: 50, allow: ["vip"] })).id;
    await notified;
    // The router fills what the lane reads: the environment, the rollout, both sides' bundles —
    // from subject requests alone (runtimes in a rollout may never ask without one).
    for (const side of ["candidate", "stable"] as const) expect((await viaRouter(`subject=${subjectOn(side)}`)).status).toBe(200);
  });
  afterAll(async () => t?.close());

  it("sends the router's response from memory for subjects on either side, the allowlist and any spelling querystring decodes, 200 and 304 alike", async () => {
    const queries = [`subject=${subjectOn("candidate")}`, `subject=${subjectOn("stable")}`, "subject=vip", "subject=caf%C3%A9+au+lait", "subject=%FF", `subject=${"x".repeat(512)}`, "subject=a=b=c", "subject=a;b"];
    const sides = new Set<string | null>();
    for (const [i, query] of queries.entries()) {
      const lane = await viaLane(query, { "x-trace-id": `subject-lane-${i}` });
      const router = await viaRouter(query, { "x-trace-id": `subject-router-${i}` });
      expect(lane.status, query).toBe(200);
      expect(stableHeaders(lane), query).toEqual(stableHeaders(router));
      expect(await lane.text(), query).toBe(await router.text());
      sides.add(lane.headers.get("x-pinset-assignment"));

      const etag = lane.headers.get("etag")!;
      const laneNotModified = await viaLane(query, { "if-none-match": etag, "x-trace-id": `subject-lane-304-${i}` });
      const routerNotModified = await viaRouter(query, { "if-none-match": etag });
      expect(laneNotModified.status, query).toBe(304);
      expect(stableHeaders(laneNotModified), query).toEqual(stableHeaders(routerNotModified));
    }
    expect([...sides].sort()).toEqual(["candidate", "stable"]);
    await new Promise((r) => setTimeout(r, 50));
    // The router's answers have their info line; the lane's, answered from memory, only debug.
    for (const [i] of queries.entries()) {
      expect(linesOf(`subject-router-${i}`)).toHaveLength(1);
      expect(linesOf(`subject-lane-${i}`), `lane ${queries[i]}`).toEqual([]);
      expect(linesOf(`subject-lane-304-${i}`), `lane 304 ${queries[i]}`).toEqual([]);
    }
  });

  it.each([
    ["an empty subject", "subject="],
    ["a subject without a value", "subject"],
    ["a subject over 512 characters", `subject=${"x".repeat(513)}`],
    ["a repeated subject", "subject=a&subject=b"],
    ["a subject with at", "subject=a&at=2026-01-01T00:00:00Z"],
  ])("leaves %s to the router, which refuses it with 400 problem+json", async (_what, query) => {
    const res = await viaLane(query, { "x-trace-id": `subject-bad-${query.length}` });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    await new Promise((r) => setTimeout(r, 50));
    expect(linesOf(`subject-bad-${query.length}`)).toEqual([expect.objectContaining({ level: WARN, res: { status: 400 } })]);
  });

  it("follows the end of the rollout at once: every subject gets the stable set, unassigned, like the router says", async () => {
    const subject = subjectOn("candidate");
    expect((await viaLane(`subject=${subject}`)).headers.get("x-pinset-assignment")).toBe("candidate");
    const notified = feedNotices(t, "prod");
    expect((await t.request("POST", envPath("hot", "prod", "/rollout/abort"))).status).toBe(200);
    await notified;
    const router = await viaRouter(`subject=${subject}`);
    expect(router.headers.get("x-pinset-assignment")).toBeNull();
    const lane = await viaLane(`subject=${subject}`, { "x-trace-id": "subject-after-abort" });
    expect(stableHeaders(lane)).toEqual(stableHeaders(router));
    expect(await lane.text()).toBe(await router.text());
    await new Promise((r) => setTimeout(r, 50));
    expect(linesOf("subject-after-abort")).toEqual([]);
  });
});
