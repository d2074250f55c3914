/**
 * Finding 2 of the hardening issue: hostile JSON Schemas. Oversized schemas are refused at
 * once with 422 naming the path and the limit (before any worker is involved); schemas within
 * the limits compile in a worker thread under a time budget; the contract and tools differs run
 * there too. The event-loop latency while that happens is tested against a spawned registry in
 * schema-event-loop.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { manyProperties, redosContracts, slowSchema } from "../support/schemas.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

const backend = backends()[0]!;
const JSON_HEADERS = { "content-type": "application/json" };

async function problem(res: Response) {
  return (await res.json()) as { status: number; detail: string; errors: Array<{ path: string; message: string }> };
}

describe(`schema limits on ${backend.name} (default limits)`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // A generous compile budget: these cases are about the limits, not the budget (tested below).
    t = await startTestApp(backend, { limits: { maxJsonBytes: 8 * 1024 * 1024 }, schemas: { timeoutMs: 120_000 } });
    expect((await t.request("PUT", "/v1/projects/s")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  const publish = (kind: string, name: string, body: unknown) => t.request("POST", `/v1/projects/s/artifacts/${kind}/${name}`, { body });

  it("refuses the reported schemas at once with 422 naming the path and the limit, writing nothing, without a worker", async () => {
    const before = await tableCounts(t);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ type: "object", properties: manyProperties(50_000) }, "content.schema.properties", /over 5000 \(limit PINSET_SCHEMA_MAX_PROPERTIES=5000\)/],
      [{ type: "object", properties: manyProperties(200_000) }, "content.schema.properties", /PINSET_SCHEMA_MAX_PROPERTIES/],
      [{ allOf: Array.from({ length: 20_000 }, (_, i) => ({ minimum: i })) }, "content.schema.allOf", /over 1000 \(limit PINSET_SCHEMA_MAX_BRANCHES=1000\)/],
      [{ description: "x".repeat(2 * 1024 * 1024) }, "content.schema", /larger than 1048576 bytes as JSON \(limit PINSET_SCHEMA_MAX_BYTES=1048576\)/],
    ];
    for (const [schema, path, message] of cases) {
      const res = await publish("contract", "huge", { content: { schema } });
      expect(res.status).toBe(422);
      const body = await problem(res);
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]!.path).toBe(path);
      expect(body.errors[0]!.message).toMatch(message);
    }
    // The refusals never reached the compiler: no worker was even started.
    expect(t.pinset.services.schemas.stats().workers).toBe(0);
    expect(await tableCounts(t)).toEqual(before);
  });

  it("refuses a tool's input schema over a limit, naming that tool's path, alongside other content errors", async () => {
    const tools = {
      tools: [
        { name: "ok", description: "d", input_schema: { type: "object" } },
        { name: "big", description: "d", input_schema: { type: "object", properties: manyProperties(6_000) } },
        { name: "ok", description: "d", input_schema: { type: "object" } },
      ],
    };
    const res = await publish("tools", "huge", { content: tools });
    expect(res.status).toBe(422);
    const paths = (await problem(res)).errors.map((e) => e.path);
    expect(paths).toEqual(["content.tools[2].name", "content.tools[1].input_schema.properties"]);
  });

  it("refuses nesting deeper than the limit (5 000 levels, raw JSON) with the path of the crossing", async () => {
    const schema = `${'{"items":'.repeat(5_000)}{}${"}".repeat(5_000)}`;
    const res = await t.request("POST", "/v1/projects/s/artifacts/contract/deep", { raw: `{"content":{"schema":${schema}}}`, headers: JSON_HEADERS });
    expect(res.status).toBe(422);
    const { errors } = await problem(res);
    expect(errors[0]!.path).toBe(`content.schema${".items".repeat(65)}`);
    expect(errors[0]!.message).toBe("is nested deeper than 64 levels (limit PINSET_SCHEMA_MAX_DEPTH=64)");
  });

  it("still compiles what is within the limits, and still refuses what does not compile", async () => {
    const big = await publish("contract", "wide", { content: { schema: { type: "object", properties: manyProperties(5_000) } } });
    expect(big.status).toBe(201);
    const bad = await publish("contract", "bad", { content: content.contract({ type: "object", properties: { a: { type: 12 } } }) });
    expect(bad.status).toBe(422);
    expect((await problem(bad)).errors[0]).toMatchObject({ path: "content.schema", message: expect.stringMatching(/does not compile as JSON Schema 2020-12/) });
    const badTool = await publish("tools", "bad", { content: { tools: [{ name: "a", description: "d", input_schema: { type: "object" } }, { name: "b", description: "d", input_schema: { minimum: "x" } }] } });
    expect((await problem(badTool)).errors.map((e) => e.path)).toEqual(["content.tools[1].input_schema"]);
  });
});

describe(`schema compile and compare budget on ${backend.name}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { schemas: { timeoutMs: 2_000, workers: 1, maxQueue: 0 } });
    expect((await t.request("PUT", "/v1/projects/s")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  const publish = (kind: string, name: string, body: unknown) => t.request("POST", `/v1/projects/s/artifacts/${kind}/${name}`, { body });

  it("answers 422 'too complex to compile within N ms' for a schema within the limits that compiles too long, then compiles the next one", async () => {
    const before = await tableCounts(t);
    const res = await publish("contract", "slow", { content: { schema: slowSchema() } });
    expect(res.status).toBe(422);
    expect((await problem(res)).errors).toEqual([{ path: "content.schema", message: "schema too complex to compile within 2000 ms" }]);
    expect(await tableCounts(t)).toEqual(before);
    expect(t.logs.text).toMatch(/schema worker stopped/);
    // A fresh worker took over.
    expect((await publish("contract", "after", { content: content.contract() })).status).toBe(201);
  });

  it("names the tool whose schema was compiling when the budget ran out", async () => {
    const tools = { tools: [{ name: "a", description: "d", input_schema: { type: "object" } }, { name: "slow", description: "d", input_schema: slowSchema() }] };
    const res = await publish("tools", "slow", { content: tools });
    expect(res.status).toBe(422);
    expect((await problem(res)).errors).toEqual([{ path: "content.tools[1].input_schema", message: "schema too complex to compile within 2000 ms" }]);
  });

  it("answers 503 with retry-after when every worker is busy and the queue is full", async () => {
    const slow = publish("contract", "busy", { content: { schema: slowSchema() } });
    const deadline = Date.now() + 20_000;
    while (t.pinset.services.schemas.stats().running === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const refused = await publish("contract", "busy-2", { content: content.contract() });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await problem(refused)).detail).toMatch(/waiting to be compiled.*nothing was stored, retry/);
    expect((await slow).status).toBe(422);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^pinset_schema_jobs_total\{job="compile",outcome="timeout"\} [3-9]$/m);
    expect(metrics).toMatch(/^pinset_schema_jobs_total\{job="compile",outcome="busy"\} 1$/m);
    expect(metrics).toMatch(/^pinset_schema_jobs_total\{job="compile",outcome="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^pinset_schema_jobs_queued 0$/m);
  });

  it("compares contracts in a worker: a comparison over budget is reported as an unclassified, breaking change", async () => {
    const { before, after } = redosContracts();
    expect((await publish("contract", "redos", { content: before })).status).toBe(201);
    expect((await publish("contract", "redos", { content: after })).status).toBe(201);
    const tool = (schema: object) => ({ tools: [{ name: "same", description: "d", input_schema: { type: "object" } }, { name: "look", description: "d", input_schema: (schema as { schema: object }).schema }] });
    expect((await publish("tools", "redos", { content: tool(before) })).status).toBe(201);
    expect((await publish("tools", "redos", { content: tool(after) })).status).toBe(201);
    const set = async (v: number) =>
      (await (await t.request("POST", "/v1/projects/s/version-sets", { body: { components: { answer: `contract/redos@${v}`, tools: `tools/redos@${v}` } } })).json()).id as string;
    const [v1, v2] = [await set(1), await set(2)];
    const res = await t.request("GET", `/v1/projects/s/diff?from=${v1}&to=${v2}`);
    expect(res.status).toBe(200);
    const diff = await res.json();
    const bySlot = Object.fromEntries(diff.components.map((c: { slot: string; detail: unknown }) => [c.slot, c.detail]));
    expect(bySlot.answer).toEqual({ breaking: true, changes: [{ path: "$", breaking: true, message: "schema too complex to compare within 2000 ms; could not be classified" }] });
    expect(bySlot.tools).toEqual({
      added: [],
      removed: [],
      changed: [{ name: "look", breaking: true, changes: [{ path: "$.input_schema", breaking: true, message: "schema too complex to compare within 2000 ms; could not be classified" }] }],
    });
    // An ordinary comparison still runs in full.
    expect((await publish("contract", "plain", { content: content.contract({ type: "string" }) })).status).toBe(201);
    expect((await publish("contract", "plain", { content: content.contract({ type: "number" }) })).status).toBe(201);
    const [p1, p2] = await Promise.all([1, 2].map(async (v) => (await (await t.request("POST", "/v1/projects/s/version-sets", { body: { components: { answer: `contract/plain@${v}` } } })).json()).id as string));
    const plain = await (await t.request("GET", `/v1/projects/s/diff?from=${p1}&to=${p2}`)).json();
    expect(plain.components[0].detail.changes).toEqual([{ path: "$.type", breaking: true, message: 'type changed from "string" to "number"' }]);
  });
});
