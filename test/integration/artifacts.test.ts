import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content, sha256Digest } from "../support/builders.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

describe.each(backends())("artifacts on $name", (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
  });
  afterAll(async () => t?.close());

  const publish = (kind: string, name: string, body: unknown) => t.request("POST", `/v1/projects/demo/artifacts/${kind}/${name}`, { body });

  it("publishes version 1, then returns the same version for identical content in another key order", async () => {
    const first = await publish("model", "main", { content: { provider: "openai", model: "m", params: { a: 1, b: 2 } } });
    expect(first.status).toBe(201);
    const v1 = await first.json();
    expect(v1).toMatchObject({ kind: "model", name: "main", version: 1 });
    expect(v1.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const again = await publish("model", "main", { content: { params: { b: 2, a: 1 }, model: "m", provider: "openai" } });
    expect(again.status).toBe(200);
    expect((await again.json()).version).toBe(1);

    const next = await publish("model", "main", { content: { provider: "openai", model: "m2" } });
    expect(next.status).toBe(201);
    expect((await next.json()).version).toBe(2);
  });

  it("computes the digest over RFC 8785 canonical JSON", async () => {
    const res = await publish("config", "digest-check", { content: { values: { b: 1, a: "x" } } });
    const body = await res.json();
    expect(body.digest).toBe(sha256Digest('{"values":{"a":"x","b":1}}'));
    expect(body.size).toBe(Buffer.byteLength('{"values":{"a":"x","b":1}}'));
  });

  it("reads a version by number, digest and latest, with its content", async () => {
    const p1 = await (await publish("prompt", "reader", { content: content.prompt("Q: {{question}}") })).json();
    await publish("prompt", "reader", { content: content.prompt("Question: {{question}}") });
    const byNumber = await (await t.request("GET", "/v1/projects/demo/artifacts/prompt/reader/versions/1")).json();
    expect(byNumber.content).toEqual(content.prompt("Q: {{question}}"));
    const byDigest = await (await t.request("GET", `/v1/projects/demo/artifacts/prompt/reader/versions/${p1.digest}`)).json();
    expect(byDigest.version).toBe(1);
    const latest = await (await t.request("GET", "/v1/projects/demo/artifacts/prompt/reader/versions/latest")).json();
    expect(latest.version).toBe(2);
    const list = await (await t.request("GET", "/v1/projects/demo/artifacts/prompt/reader?limit=1")).json();
    expect(list.items.map((i: { version: number }) => i.version)).toEqual([2]);
    const rest = await (await t.request("GET", `/v1/projects/demo/artifacts/prompt/reader?limit=1&cursor=${list.next_cursor}`)).json();
    expect(rest).toMatchObject({ items: [{ version: 1 }], next_cursor: null });
  });

  it("gives identical concurrent publishes one version", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => publish("config", "race", { content: content.config({ same: true }) })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(7);
    const versions = await Promise.all(results.map(async (r) => (await r.json()).version));
    expect(new Set(versions)).toEqual(new Set([1]));
    const list = await (await t.request("GET", "/v1/projects/demo/artifacts/config/race")).json();
    expect(list.items).toHaveLength(1);
  });

  it("refuses content of the wrong shape with 422 naming the expected shape and the field, storing nothing", async () => {
    // The schema posted bare, as a first-time user does: the answer says how a contract is shaped.
    const res = await publish("contract", "answer", { content: { type: "object", properties: { answer: { type: "string" } } } });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = await res.json();
    expect(problem).toMatchObject({ code: "validation_failed", detail: "The contract content is invalid" });
    expect(problem.errors).toContainEqual({
      path: "content.type",
      message: 'a contract is {"schema": {…a JSON Schema 2020-12…}}: "type" is not one of its fields (this looks like the schema itself: send {"schema": <it>})',
    });
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(["content.type", "content.properties"]);
    expect((await t.request("GET", "/v1/projects/demo/artifacts/contract/answer")).status).toBe(404);

    const config = await (await publish("config", "flags", { content: { max_turns: 12 } })).json();
    expect(config.errors).toEqual([
      { path: "content.values", message: 'a config is {"values": {…any JSON values…}}: "values" is required' },
      { path: "content.max_turns", message: 'a config is {"values": {…any JSON values…}}: "max_turns" is not one of its fields' },
    ]);

    const wrapped = await publish("contract", "answer", { content: { schema: { type: "object", properties: { answer: { type: "string" } } } } });
    expect(wrapped.status).toBe(201);
  });
});
