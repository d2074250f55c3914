import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { SseClient } from "../support/sse-client.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken, type CreatedToken } from "../support/tokens.js";

describe.each(backends())("watch stream caps on $name", (backend) => {
  let t: TestApp;
  let open: SseClient[] = [];
  let readA: CreatedToken;
  let readB: CreatedToken;
  let readC: CreatedToken;
  const watchUrl = (app: TestApp, project = "alpha") => `${app.url}/v1/projects/${project}/environments/prod/watch`;
  async function watch(app: TestApp, token: string, project = "alpha") {
    const client = await SseClient.connect(watchUrl(app, project), { token });
    open.push(client);
    return client;
  }
  async function openCount(app: TestApp, n: number) {
    const deadline = Date.now() + 3_000;
    while (app.pinset.services.watchStreams.open !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return app.pinset.services.watchStreams.open;
  }
  function expectRefused(client: SseClient, cap: string) {
    expect(client.status).toBe(429);
    expect(client.headers["content-type"]).toContain("application/problem+json");
    expect(client.headers["retry-after"]).toBe("30");
    const problem = JSON.parse(client.body) as { code: string; detail: string };
    expect(problem.code).toBe("too_many_watches");
    expect(problem.detail).toContain(cap);
  }

  beforeAll(async () => {
    t = await startTestApp(backend, { watchLimits: { perToken: 3, perAddress: 5 } });
    for (const project of ["alpha", "beta"]) {
      expect((await t.request("PUT", `/v1/projects/${project}`)).status).toBe(201);
      expect((await t.request("PUT", `/v1/projects/${project}/environments/prod`)).status).toBe(201);
    }
    await t.request("POST", "/v1/projects/beta/artifacts/config/app", { body: { content: content.config() } });
    const set = (await (await t.request("POST", "/v1/projects/beta/version-sets", { body: { components: { config: "config/app@1" } } })).json()) as { id: string };
    expect((await t.request("POST", "/v1/projects/beta/environments/prod/deploy", { body: { version_set: set.id } })).status).toBe(200);
    readA = await createToken(t, { scopes: ["read"], projects: ["alpha"] });
    readB = await createToken(t, { scopes: ["read"], projects: ["alpha", "beta"] });
    readC = await createToken(t, { scopes: ["read"], projects: ["alpha"] });
  });
  afterEach(async () => {
    for (const c of open) c.close();
    open = [];
    await openCount(t, 0);
  });
  afterAll(async () => t?.close());

  it("refuses a token's stream over PINSET_WATCH_MAX_PER_TOKEN with 429 and retry-after; other tokens and closed slots are unaffected", async () => {
    for (let i = 0; i < 3; i++) expect((await watch(t, readA.token)).status).toBe(200);
    expectRefused(await watch(t, readA.token), "PINSET_WATCH_MAX_PER_TOKEN");
    expect((await watch(t, readB.token)).status).toBe(200);
    // Another tenant's resolve and the health check are untouched.
    expect((await t.request("GET", "/v1/projects/beta/environments/prod/resolve", { token: readB.token })).status).toBe(200);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    // A stream that ends gives its slot back.
    open[0]!.close();
    expect(await openCount(t, 3)).toBe(3);
    expect((await watch(t, readA.token)).status).toBe(200);
  });

  it("refuses a client address's stream over PINSET_WATCH_MAX_PER_ADDRESS, whatever the token", async () => {
    for (const token of [readA, readA, readB, readB, readC]) expect((await watch(t, token.token)).status).toBe(200);
    expectRefused(await watch(t, readC.token), "PINSET_WATCH_MAX_PER_ADDRESS");
  });

  it("refuses a stream over the instance's cap (from its open-file limit) even with the per-client caps off", async () => {
    const capped = await startTestApp(backend, { sharedDatabaseOf: t, watch: { maxTotal: 2 } });
    try {
      expect((await watch(capped, readA.token)).status).toBe(200);
      expect((await watch(capped, readB.token)).status).toBe(200);
      expectRefused(await watch(capped, readC.token), "open-file limit");
      const metrics = await (await fetch(`${capped.url}/metrics`)).text();
      expect(metrics).toContain('pinset_watch_refusals_total{reason="instance"} 1');
      expect(metrics).toContain("pinset_watchers_limit 2");
    } finally {
      for (const c of open) c.close();
      await capped.close();
    }
  });

  it("counts refusals by cap in /metrics", async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('pinset_watch_refusals_total{reason="token"} 1');
    expect(metrics).toContain('pinset_watch_refusals_total{reason="address"} 1');
    expect(metrics).toContain('pinset_watch_refusals_total{reason="instance"} 0');
    expect(metrics).toContain('pinset_http_requests_total{method="GET",route="/v1/projects/:project/environments/:env/watch",status="429"} 2');
  });
});
