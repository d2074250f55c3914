/**
 * The analysis config through HTTP on both backends: create, replace, read (header names only),
 * delete, the runs list, scopes, and every bad input the issue names — each a 422 naming the
 * path, with nothing stored. The secret header value never appears in an answer, the audit log
 * or a log line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedEnv, envPath, expectProblem, makeSets } from "../support/rollouts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const P = "analysed";
const SECRET = "Bearer s3cr3t-value-never-shown";

const body = (extra: Record<string, unknown> = {}) => ({
  provider: { type: "prometheus", url: "http://127.0.0.1:9090/", headers: { Authorization: SECRET } },
  interval_seconds: 30,
  ...extra,
});

describe.each(backends())("the analysis config on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", `/v1/projects/${P}`)).status).toBe(201);
    const [stable] = await makeSets(t, P, 1);
    await deployedEnv(t, P, "prod", stable!);
    await deployedEnv(t, P, "staging", stable!);
  });
  afterAll(async () => t?.close());

  it("creates, replaces, reads without header values, lists runs and deletes", async () => {
    await expectProblem(await t.request("GET", envPath(P, "prod", "/analysis")), 404, "not_found");
    const created = await t.request("PUT", envPath(P, "prod", "/analysis"), { body: body() });
    expect(created.status).toBe(201);
    const view = await created.json();
    expect(view.provider).toEqual({ type: "prometheus", url: "http://127.0.0.1:9090", method: "POST", header_names: ["authorization"] });
    expect(view.interval_seconds).toBe(30);
    expect(view.consecutive_error_limit).toBe(4);
    expect(view.timeout_seconds).toBe(10);
    // No queries given: the default queries, which produce the sample forms.
    expect(view.queries["quality.success_rate"]).toEqual({ count: expect.stringContaining("{{version_set}}"), trials: expect.any(String) });

    const replaced = await t.request("PUT", envPath(P, "prod", "/analysis"), {
      body: body({ interval_seconds: 60, queries: { "quality.success_rate": 'avg(llm_success_ratio{version_set="{{version_set}}"})' } }),
    });
    expect(replaced.status).toBe(200);
    const read = await (await t.request("GET", envPath(P, "prod", "/analysis"))).json();
    expect(read).toEqual(await replaced.json());
    expect(read.queries).toEqual({ "quality.success_rate": 'avg(llm_success_ratio{version_set="{{version_set}}"})' });

    expect(await (await t.request("GET", envPath(P, "prod", "/analysis/runs"))).json()).toEqual({ items: [], next_cursor: null });

    const audit = await (await t.request("GET", `/v1/projects/${P}/audit?action=analysis.update`)).json();
    expect(audit.items).toHaveLength(2);
    expect(audit.items[0].target).toBe("environment/prod/analysis");
    expect(JSON.stringify(audit)).not.toContain("s3cr3t");

    expect((await t.request("DELETE", envPath(P, "prod", "/analysis"))).status).toBe(204);
    await expectProblem(await t.request("GET", envPath(P, "prod", "/analysis")), 404, "not_found");
    await expectProblem(await t.request("DELETE", envPath(P, "prod", "/analysis")), 404, "not_found");
    expect(t.logs.text).not.toContain("s3cr3t");
  });

  it("answers 422 naming the path for each bad input, and stores nothing", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["unknown metric key", body({ queries: { "quality.happiness": "up" } }), "queries.quality.happiness"],
      ["unknown placeholder", body({ queries: { requests: 'sum(x{set="{{versionset}}"})' } }), "queries.requests"],
      ["object form missing a field", body({ queries: { "quality.success_rate": { count: "sum(a)" } } }), "queries.quality.success_rate.trials"],
      ["non-http URL", { provider: { type: "prometheus", url: "file:///etc/passwd" } }, "provider.url"],
      ["interval below 5 s", body({ interval_seconds: 4 }), "interval_seconds"],
      ["interval above an hour", body({ interval_seconds: 3601 }), "interval_seconds"],
      ["header with a line break", body({ provider: { type: "prometheus", url: "http://p:9090", headers: { "x-a": "a\r\nx-b: b" } } }), "provider.headers.x-a"],
      ["unknown field", body({ colour: "red" }), "colour"],
    ];
    for (const [name, input, path] of cases) {
      const problem = await expectProblem(await t.request("PUT", envPath(P, "staging", "/analysis"), { body: input }), 422, "validation_failed");
      expect(problem.errors?.map((e) => e.path), name).toContain(path);
    }
    await expectProblem(await t.request("GET", envPath(P, "staging", "/analysis")), 404, "not_found");
    await expectProblem(await t.request("PUT", envPath(P, "staging", "/analysis"), { raw: "[1]", headers: { "content-type": "application/json" } }), 400, "validation_failed");
  });

  it("needs deploy to change and read to see; unknown environments are 404", async () => {
    const reader = await createToken(t, { name: "analysis-reader", scopes: ["read"], projects: [P] });
    const deployer = await createToken(t, { name: "analysis-deployer", scopes: ["read", "deploy"], projects: [P] });
    await expectProblem(await t.request("PUT", envPath(P, "staging", "/analysis"), { body: body(), token: reader.token }), 403, "forbidden");
    expect((await t.request("PUT", envPath(P, "staging", "/analysis"), { body: body(), token: deployer.token })).status).toBe(201);
    const seen = await (await t.request("GET", envPath(P, "staging", "/analysis"), { token: reader.token })).json();
    expect(seen.provider.header_names).toEqual(["authorization"]);
    expect(JSON.stringify(seen)).not.toContain("s3cr3t");
    expect((await t.request("GET", envPath(P, "staging", "/analysis/runs"), { token: reader.token })).status).toBe(200);
    await expectProblem(await t.request("DELETE", envPath(P, "staging", "/analysis"), { token: reader.token }), 403, "forbidden");
    await expectProblem(await t.request("PUT", envPath(P, "nowhere", "/analysis"), { body: body() }), 404, "not_found");
    await expectProblem(await t.request("GET", envPath(P, "nowhere", "/analysis")), 404, "not_found");
    await expectProblem(await t.request("GET", envPath(P, "nowhere", "/analysis/runs")), 404, "not_found");
  });
});
