/**
 * The reads that declare `direct` (GET one artifact version, diff, history) are run by the fast
 * lane without express' router (http/fast-lane.ts). Whatever they answer — the hit, a 404 of the
 * service, a 400 of the route's own validation — must be what the router answers for the same
 * request, with the same log line and metrics; what the lane does not decide goes to the router.
 * A second server runs the same app's router alone: the answers to compare.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adoptExpressPrototypes, closeHttpServer, createHttpServer } from "../../src/http/server.js";
import { createToken } from "../support/tokens.js";
import { deployedEnv, envPath, makeSets } from "../support/rollouts.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";

/** A series' value in the app's /metrics (0 when absent). */
let metricsUrl = "";
async function metricValue(series: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Every header but the date. */
function stableHeaders(res: Response): Record<string, string> {
  const headers = Object.fromEntries(res.headers);
  delete headers.date;
  return headers;
}

describe("direct routes (fast lane, database reads)", () => {
  let t: TestApp;
  let routerOnly: ReturnType<typeof createHttpServer>;
  let routerUrl: string;
  let sets: string[];
  /** Requests the express app saw (the lane's fall-backs and the router-only server's). */
  let routed: string[];

  beforeAll(async () => {
    t = await startTestApp(backends()[0]!);
    metricsUrl = t.url;
    routerOnly = createHttpServer(t.pinset.app);
    adoptExpressPrototypes(routerOnly, t.pinset.app);
    routerOnly.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => routerOnly.once("listening", () => resolve()));
    routerUrl = `http://127.0.0.1:${(routerOnly.address() as AddressInfo).port}`;
    expect((await t.request("PUT", "/v1/projects/shop")).status).toBe(201);
    sets = await makeSets(t, "shop", 2, "direct");
    await deployedEnv(t, "shop", "prod", sets[0]!);
    expect((await t.request("POST", envPath("shop", "prod", "/deploy"), { body: { version_set: sets[1] } })).status).toBe(200);
    routed = [];
    // express' app.handle (not in its typings): every request the router answers passes it.
    const app = t.pinset.app as unknown as { handle: (req: { url?: string }, ...rest: unknown[]) => unknown };
    const handle = app.handle.bind(app);
    app.handle = (req, ...rest) => {
      routed.push(String(req.url));
      return handle(req, ...rest);
    };
  });
  afterAll(async () => {
    await closeHttpServer(routerOnly);
    await t?.close();
  });

  /** The same request to the lane's server and to the router's, each with its own trace id. */
  async function both(path: string, token = ADMIN_TOKEN) {
    routed.length = 0;
    const headers = (id: string) => ({ authorization: `Bearer ${token}`, "x-trace-id": id });
    const lane = await fetch(`${t.url}${path}`, { headers: headers("same-trace") });
    const laneRouted = routed.length;
    const router = await fetch(`${routerUrl}${path}`, { headers: headers("same-trace") });
    return { lane, router, laneRouted };
  }

  const cases = () => [
    ["an artifact version", "/v1/projects/shop/artifacts/config/direct/versions/1"],
    ["the latest version", "/v1/projects/shop/artifacts/config/direct/versions/latest"],
    ["a diff", `/v1/projects/shop/diff?from=${sets[0]}&to=${sets[1]}`],
    ["a history page", "/v1/projects/shop/environments/prod/history?limit=1"],
    ["the next history page", "/v1/projects/shop/environments/prod/history?limit=1&cursor=2"],
    ["a trailing slash, upper-case literals", `/V1/projects/shop/DIFF/?from=${sets[0]}&to=${sets[1]}`],
    ["an unknown version (the service's 404)", "/v1/projects/shop/artifacts/config/direct/versions/9"],
    ["an unknown set (the service's 404)", `/v1/projects/shop/diff?from=${sets[0]}&to=vs_000000000000000000000000`],
    ["a diff without `to` (the route's 400)", `/v1/projects/shop/diff?from=${sets[0]}`],
    ["a bad version reference (the route's 400)", "/v1/projects/shop/artifacts/config/direct/versions/x!"],
    ["an unknown project (404)", `/v1/projects/nowhere/diff?from=${sets[0]}&to=${sets[1]}`],
    ["an unknown environment (404)", "/v1/projects/shop/environments/nowhere/history"],
    ["a bad limit (400)", "/v1/projects/shop/environments/prod/history?limit=0"],
  ] as const;

  it("answers each direct read itself, exactly as the router answers it: status, headers, body", async () => {
    for (const [name, path] of cases()) {
      const { lane, router, laneRouted } = await both(path);
      expect(laneRouted, `${name}: the lane answered`).toBe(0);
      expect(lane.status, name).toBe(router.status);
      expect(stableHeaders(lane), name).toEqual(stableHeaders(router));
      expect(await lane.text(), name).toBe(await router.text());
    }
  });

  it("logs and counts a direct answer as the router does: one line with the trace id and the template in /metrics", async () => {
    const path = `/v1/projects/shop/diff?from=${sets[0]}&to=vs_000000000000000000000000`;
    const before = t.logs.lines.length;
    const lane = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "x-trace-id": "direct-line" } });
    expect(lane.status).toBe(404);
    await lane.text();
    await new Promise((r) => setTimeout(r, 50));
    const lines = t.logs.lines.slice(before).map((l) => JSON.parse(l) as { trace_id?: string; msg: string; level: number; req?: { url: string }; res?: { status: number } });
    const line = lines.filter((l) => l.trace_id === "direct-line");
    expect(line).toEqual([expect.objectContaining({ msg: "request completed", level: 40, req: expect.objectContaining({ url: path }), res: { status: 404 } })]);
    expect(JSON.stringify(t.logs.lines.slice(before))).not.toContain(ADMIN_TOKEN);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/pinset_http_requests_total\{method="GET",route="\/v1\/projects\/:project\/diff",status="404"\} [1-9]/);
    expect(metrics).toMatch(/pinset_http_requests_total\{method="GET",route="\/v1\/projects\/:project\/environments\/:env\/history",status="200"\} [1-9]/);
  });

  it("sends a kept diff once one read confirms both sets, without the handlers; the same bytes, line and count as the router's", async () => {
    const path = `/v1/projects/shop/diff?to=${sets[1]}&from=${sets[0]}`;
    const service = t.pinset.services.versionSets;
    const calls = { bothExist: 0, diffJson: 0 };
    const bothExist = service.bothExist.bind(service);
    const diffJson = service.diffJson.bind(service);
    service.bothExist = (...args) => (calls.bothExist++, bothExist(...args));
    service.diffJson = (...args) => (calls.diffJson++, diffJson(...args));
    try {
      await (await both(path)).lane.text(); // kept from here on
      calls.bothExist = calls.diffJson = 0;
      const before = t.logs.lines.length;
      const count = () => metricValue(`pinset_http_requests_total{method="GET",route="/v1/projects/:project/diff",status="200"}`);
      const counted = await count();
      const { lane, router, laneRouted } = await both(path);
      expect(laneRouted).toBe(0);
      expect(lane.status).toBe(200);
      expect(stableHeaders(lane)).toEqual(stableHeaders(router));
      expect(await lane.text()).toBe(await router.text());
      // The lane read both ids once; the router's request ran the handlers (which read them too).
      expect(calls).toEqual({ bothExist: 1, diffJson: 1 });
      await new Promise((r) => setTimeout(r, 50));
      const lines = t.logs.lines.slice(before).map((l) => JSON.parse(l) as { trace_id?: string; msg: string; level: number; req?: { url: string }; res?: { status: number } });
      expect(lines.filter((l) => l.trace_id === "same-trace")).toEqual([
        expect.objectContaining({ msg: "request completed", level: 30, req: expect.objectContaining({ url: path }), res: { status: 200 } }),
        expect.objectContaining({ msg: "request completed", level: 30, req: expect.objectContaining({ url: path }), res: { status: 200 } }),
      ]);
      expect(await count()).toBe(counted + 2);
    } finally {
      service.bothExist = bothExist;
      service.diffJson = diffJson;
    }
  });

  it("runs the handlers when a kept diff is not confirmed: the read failed, or a set is gone", async () => {
    const path = `/v1/projects/shop/diff?from=${sets[1]}&to=${sets[0]}`;
    await (await both(path)).lane.text(); // kept from here on
    const service = t.pinset.services.versionSets;
    const bothExist = service.bothExist.bind(service);
    service.bothExist = () => Promise.reject(new Error("the database is away"));
    try {
      const { lane, laneRouted } = await both(path);
      expect(laneRouted).toBe(0);
      expect(lane.status).toBe(200);
      expect(JSON.parse(await lane.text())).toMatchObject({ from: sets[1], to: sets[0] });
    } finally {
      service.bothExist = bothExist;
    }
    // Sets are never deleted through the API; a row removed under the registry shows the fall-back's answer.
    const removed = await t.db.handle.db.selectFrom("version_sets").selectAll().where("id", "=", sets[0]!).executeTakeFirstOrThrow();
    await t.db.handle.db.deleteFrom("version_sets").where("id", "=", sets[0]!).execute();
    try {
      const { lane, router, laneRouted } = await both(path);
      expect(laneRouted).toBe(0);
      expect(lane.status).toBe(404);
      expect(await lane.text()).toBe(await router.text());
    } finally {
      await t.db.handle.db
        .insertInto("version_sets")
        .values({ ...removed, components: JSON.stringify(removed.components), code: removed.code === null ? null : JSON.stringify(removed.code) } as never)
        .execute();
    }
  });

  it("counts and logs a kept diff whose client left before the read confirmed it as the router does: 499, request aborted", async () => {
    const path = `/v1/projects/shop/diff?from=${sets[0]}&to=${sets[1]}`;
    await (await both(path)).lane.text(); // kept from here on
    const service = t.pinset.services.versionSets;
    const bothExist = service.bothExist.bind(service);
    let release!: () => void;
    const asked = new Promise<void>((resolveAsked) => {
      service.bothExist = (...args) => {
        resolveAsked();
        return new Promise<void>((r) => (release = r)).then(() => bothExist(...args));
      };
    });
    const aborted = () => metricValue(`pinset_http_requests_total{method="GET",route="/v1/projects/:project/diff",status="499"}`);
    const before = await aborted();
    const lines = t.logs.lines.length;
    try {
      const controller = new AbortController();
      const request = fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "x-trace-id": "gone-client" }, signal: controller.signal });
      await asked;
      controller.abort();
      await expect(request).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 50));
      release();
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      service.bothExist = bothExist;
    }
    expect(await aborted()).toBe(before + 1);
    const line = t.logs.lines.slice(lines).map((l) => JSON.parse(l) as { trace_id?: string; msg: string; level: number; res?: { status: number } });
    expect(line.filter((l) => l.trace_id === "gone-client")).toEqual([expect.objectContaining({ msg: "request aborted", level: 30, res: { status: 499 } })]);
  });

  it("leaves to the router what it does not decide: no token, an unknown token, a refused caller, HEAD, an encoded name", async () => {
    const diff = `/v1/projects/shop/diff?from=${sets[0]}&to=${sets[1]}`;
    const other = await createToken(t, { scopes: ["read"], projects: ["elsewhere"] });
    const fresh = await createToken(t, { scopes: ["read"], projects: ["shop"] });
    const cases: Array<[string, () => Promise<Response>, number]> = [
      ["no token", () => fetch(`${t.url}${diff}`), 401],
      ["an unknown token", () => fetch(`${t.url}${diff}`, { headers: { authorization: "Bearer pst_unknown" } }), 401],
      ["a token that may not see the project", () => fetch(`${t.url}${diff}`, { headers: { authorization: `Bearer ${other.token}` } }), 404],
      ["a token the cache does not hold yet", () => fetch(`${t.url}${diff}`, { headers: { authorization: `Bearer ${fresh.token}` } }), 200],
      ["HEAD", () => fetch(`${t.url}${diff}`, { method: "HEAD", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), 200],
      ["an encoded name", () => fetch(`${t.url}/v1/projects/%73hop/diff?from=${sets[0]}&to=${sets[1]}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }), 200],
    ];
    for (const [name, call, status] of cases) {
      routed.length = 0;
      const res = await call();
      await res.arrayBuffer();
      expect(res.status, name).toBe(status);
      expect(routed, name).toHaveLength(1);
    }
    // Once the router has looked the fresh token up, the lane answers it.
    routed.length = 0;
    const again = await fetch(`${t.url}${diff}`, { headers: { authorization: `Bearer ${fresh.token}` } });
    expect(again.status).toBe(200);
    expect(routed).toEqual([]);
  });
});

describe("direct routes under a rate limit", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backends()[0]!, { rateLimit: { rps: 1, burst: 3 } });
    expect((await t.request("PUT", "/v1/projects/shop")).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("charges each answer once and leaves a limited request to the router, which answers 429", async () => {
    const statuses: number[] = [];
    // The PUT above took one token of the burst of 3.
    for (let i = 0; i < 3; i++) statuses.push((await t.request("GET", "/v1/projects/shop/artifacts/config/none/versions/1")).status);
    expect(statuses).toEqual([404, 404, 429]);
  });
});
