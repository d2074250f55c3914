import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const ART = "/v1/projects/demo/artifacts";
const refunds = (extra: Array<Record<string, unknown>> = []) => ({
  cases: [
    { id: "refund-basic", input: { q: "refund order 1" }, expect: { action: "refund" }, tags: ["refunds"] },
    { id: "greeting", input: "hello" },
    ...extra,
  ],
});

describe.each(backends())("evalset artifacts on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  it("publishes an evalset (201), pins it in a version set (slot evalset.regression) and diffs cases by id", async () => {
    const v1 = await t.request("POST", `${ART}/evalset/regression`, { body: { content: refunds() } });
    expect(v1.status, await v1.clone().text()).toBe(201);
    expect(await v1.json()).toMatchObject({ kind: "evalset", name: "regression", version: 1 });
    const v2 = await t.request("POST", `${ART}/evalset/regression`, {
      body: {
        content: {
          cases: [
            { id: "refund-basic", input: { q: "refund order 1" }, expect: { action: "refund", amount: 10 }, tags: ["refunds"] },
            { id: "refund-over-limit", input: { q: "refund 5000" }, source_trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
          ],
        },
      },
    });
    expect(v2.status).toBe(201);
    const sets = [];
    for (const version of [1, 2]) {
      const res = await t.request("POST", "/v1/projects/demo/version-sets", { body: { components: { "evalset.regression": `evalset/regression@${version}` } } });
      expect(res.status, await res.clone().text()).toBe(201);
      sets.push((await res.json()) as { id: string; summary: Record<string, string> });
    }
    expect(sets[0]!.summary).toEqual({ evalset_v: "evalset.regression=regression@1" });
    const diff = await t.request("GET", `/v1/projects/demo/diff?from=${sets[0]!.id}&to=${sets[1]!.id}`);
    expect(diff.status).toBe(200);
    const body = (await diff.json()) as { components: Array<{ slot: string; change: string; detail: unknown }> };
    expect(body.components).toEqual([
      expect.objectContaining({ slot: "evalset.regression", change: "changed", detail: { added: ["refund-over-limit"], removed: ["greeting"], changed: ["refund-basic"] } }),
    ]);
    const list = await t.request("GET", "/v1/projects/demo/artifacts?kind=evalset");
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: Array<{ name: string }> }).items.map((i) => i.name)).toEqual(["regression"]);
  });

  it("refuses a duplicate case id with 422 naming it, and stores nothing", async () => {
    const before = await tableCounts(t);
    const res = await t.request("POST", `${ART}/evalset/dupes`, { body: { content: refunds([{ id: "greeting", input: "hi again" }]) } });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const problem = (await res.json()) as { code: string; errors: Array<{ path: string; message: string }> };
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors).toEqual([{ path: "content.cases[2].id", message: 'duplicate case id "greeting"' }]);
    expect(await tableCounts(t)).toEqual(before);
  });

  it("names the shape on wrong content (missing input, unknown field, not an array)", async () => {
    const cases: Array<[unknown, { path: string; message: RegExp }]> = [
      [{ cases: [{ id: "a" }] }, { path: "content.cases[0].input", message: /^a case is .*: "input" is required$/ }],
      [{ cases: [{ id: "a", input: 1, weight: 2 }] }, { path: "content.cases[0].weight", message: /^a case is .*: "weight" is not one of its fields$/ }],
      [{ cases: {} }, { path: "content.cases", message: /must be an array, not an object/ }],
      [[], { path: "content", message: /^an evalset is \{"cases": .*, not an array$/ }],
    ];
    for (const [content, expected] of cases) {
      const res = await t.request("POST", `${ART}/evalset/bad`, { body: { content } });
      expect(res.status).toBe(422);
      const problem = (await res.json()) as { errors: Array<{ path: string; message: string }> };
      expect(problem.errors).toContainEqual({ path: expected.path, message: expect.stringMatching(expected.message) as unknown as string });
    }
  });
});
