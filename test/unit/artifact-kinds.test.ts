import { describe, expect, it } from "vitest";
import { KIND_VALIDATORS } from "../../src/artifacts/kinds/index.js";
import { compileSchemaErrors } from "../../src/artifacts/kinds/json-schema.js";
import { extractPlaceholders } from "../../src/artifacts/kinds/prompt.js";

const errorsOf = (kind: keyof typeof KIND_VALIDATORS, content: unknown) => KIND_VALIDATORS[kind].validate(content).errors;
const digest = `sha256:${"a".repeat(64)}`;

describe("artifact kinds", () => {
  it("prompt: placeholders must match declared variables", () => {
    expect(errorsOf("prompt", { template: "Hi {{ name }}, about {{topic}}", variables: ["name", "topic"] })).toEqual([]);
    expect(errorsOf("prompt", { template: "Hi {{name}}" })).toEqual([]);
    expect(errorsOf("prompt", { template: "Hi {{name}} {{extra}}", variables: ["name"] }).map((e) => e.message)).toEqual(["placeholder {{extra}} is used but not declared"]);
    expect(errorsOf("prompt", { template: "Hi", variables: ["unused"] }).map((e) => e.message)).toEqual(['variable "unused" is declared but never used']);
    expect(errorsOf("prompt", { messages: [{ role: "system", content: "x {{a}}" }, { role: "user", content: "{{b}}" }], variables: ["a", "b"] })).toEqual([]);
    expect(errorsOf("prompt", { messages: [] }).length).toBeGreaterThan(0);
    expect(errorsOf("prompt", { template: 5 }).length).toBeGreaterThan(0);
    expect(errorsOf("prompt", { template: "x", extra: 1 }).map((e) => e.path)).toEqual(["content.extra"]);
    expect(extractPlaceholders(["{{a}} {{ b.c }} {{a}} { {d} }"])).toEqual(["a", "b.c"]);
  });

  it("contract: hands its schema over to be limited and compiled off the event loop", () => {
    const schema = { type: "object", properties: { a: { $ref: "#/$defs/x" } }, $defs: { x: { type: "string" } } };
    expect(KIND_VALIDATORS.contract.validate({ schema })).toEqual({ errors: [], schemas: [{ path: "content.schema", schema }] });
    expect(errorsOf("contract", {})[0]?.path).toBe("content.schema");
    expect(errorsOf("contract", { schema: true, extra: 1 })[0]?.path).toBe("content.extra");
  });

  it("json schema: must compile as 2020-12, never fetching remote refs, first meta-schema error only", () => {
    expect(compileSchemaErrors({ type: "object", properties: { a: { $ref: "#/$defs/x" } }, $defs: { x: { type: "string" } } }, "content.schema")).toEqual([]);
    expect(compileSchemaErrors(true, "content.schema")).toEqual([]);
    expect(compileSchemaErrors({ type: 12 }, "content.schema")[0]?.path).toBe("content.schema");
    expect(compileSchemaErrors({ $ref: "http://127.0.0.1:1/remote.json" }, "content.schema")[0]?.message).toMatch(/does not compile/);
    const many = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`p${i}`, { type: 12 }]));
    const errors = compileSchemaErrors({ properties: many }, "content.schema");
    expect(errors).toEqual([{ path: "content.schema", message: "does not compile as JSON Schema 2020-12: schema is invalid: data/properties/p0/type must be equal to one of the allowed values" }]);
    // Flat generated code: 5 000 properties in one object compile (nested code overflowed V8's parser at ~3 000).
    expect(compileSchemaErrors({ type: "object", properties: Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`p${i}`, { type: "string" }])) }, "s")).toEqual([]);
  });

  it("model, config: shapes", () => {
    expect(errorsOf("model", { provider: "openai", model: "gpt", params: { temperature: 0.1 } })).toEqual([]);
    expect(errorsOf("model", { provider: "openai" })[0]?.path).toBe("content.model");
    expect(errorsOf("config", { values: { a: { b: [1] } } })).toEqual([]);
    expect(errorsOf("config", { values: [] }).length).toBe(1);
  });

  it("index: safe relative paths, unique, with digests and sizes", () => {
    expect(errorsOf("index", { files: [{ path: "docs/a b.md", digest, size: 1 }], metadata: { v: 1 } })).toEqual([]);
    for (const path of ["/abs", "../up", "a/../b", "a//b", "a/", "./a", "a/./b", "nul\u0000"]) {
      expect(errorsOf("index", { files: [{ path, digest, size: 1 }] }).length, path).toBeGreaterThan(0);
    }
    expect(errorsOf("index", { files: [{ path: "a", digest, size: 1 }, { path: "a", digest, size: 1 }] })[0]?.message).toMatch(/duplicate/);
    expect(errorsOf("index", { files: [{ path: "a", digest: "sha256:XYZ", size: 1 }] }).length).toBe(1);
    expect(KIND_VALIDATORS.index.validate({ files: [{ path: "a", digest, size: 3 }] }).blobs).toEqual([{ path: "a", digest, size: 3 }]);
  });

  it("tools: unique names, and input schemas handed over to be compiled", () => {
    const tool = { name: "search", description: "d", input_schema: { type: "object" } };
    expect(errorsOf("tools", { tools: [tool] })).toEqual([]);
    expect(errorsOf("tools", { tools: [tool, tool] })[0]?.message).toMatch(/duplicate/);
    expect(KIND_VALIDATORS.tools.validate({ tools: [tool, { ...tool, name: "b", input_schema: { type: "bogus" } }] }).schemas).toEqual([
      { path: "content.tools[0].input_schema", schema: { type: "object" } },
      { path: "content.tools[1].input_schema", schema: { type: "bogus" } },
    ]);
    expect(errorsOf("tools", { tools: [{ name: "x", description: "d" }] })[0]?.path).toBe("content.tools[0].input_schema");
  });

  describe("errors name the shape each kind expects", () => {
    const cases: Array<[keyof typeof KIND_VALIDATORS, unknown, { path: string; message: string }]> = [
      ["contract", { type: "object" }, { path: "content.type", message: 'a contract is {"schema": {…a JSON Schema 2020-12…}}: "type" is not one of its fields (this looks like the schema itself: send {"schema": <it>})' }],
      ["contract", { schema: {}, notes: "x" }, { path: "content.notes", message: 'a contract is {"schema": {…a JSON Schema 2020-12…}}: "notes" is not one of its fields' }],
      ["contract", {}, { path: "content.schema", message: 'a contract is {"schema": {…a JSON Schema 2020-12…}}: "schema" is required' }],
      ["contract", "{}", { path: "content", message: 'a contract is {"schema": {…a JSON Schema 2020-12…}}, not a string' }],
      ["config", { flag: true }, { path: "content.values", message: 'a config is {"values": {…any JSON values…}}: "values" is required' }],
      ["config", { values: {}, flag: true }, { path: "content.flag", message: 'a config is {"values": {…any JSON values…}}: "flag" is not one of its fields' }],
      ["config", { values: [1] }, { path: "content.values", message: "must be an object, not an array" }],
      ["model", { provider: "openai", model: "m", temperature: 0.2 }, { path: "content.temperature", message: 'a model is {"provider": "openai", "model": "gpt-4o-mini", "revision"?: "…", "params"?: {"temperature": 0.2, …}}: "temperature" is not one of its fields' }],
      ["model", null, { path: "content", message: 'a model is {"provider": "openai", "model": "gpt-4o-mini", "revision"?: "…", "params"?: {"temperature": 0.2, …}}, not null' }],
      ["prompt", { text: "Hi" }, { path: "content.text", message: expect.stringMatching(/^a prompt is \{"template": .* or \{"messages": .*: "text" is not one of its fields$/) as unknown as string }],
      ["prompt", { messages: [{ role: "user", text: "Hi" }] }, { path: "content.messages[0].text", message: 'a prompt message is {"role": "system", "content": "…"}: "text" is not one of its fields' }],
      ["index", { files: ["a.md"] }, { path: "content.files[0]", message: 'an index file is {"path": "docs/a.md", "digest": "sha256:<64 hex>", "size": <bytes>}, not a string' }],
      ["index", { files: [{ path: "a.md", digest }] }, { path: "content.files[0].size", message: 'an index file is {"path": "docs/a.md", "digest": "sha256:<64 hex>", "size": <bytes>}: "size" is required' }],
      ["tools", [{ name: "x" }], { path: "content", message: 'a tools manifest is {"tools": [{"name", "description", "input_schema", "permissions"?}, …]}, not an array' }],
      ["tools", { tools: [{ name: "x", description: "d" }] }, { path: "content.tools[0].input_schema", message: 'a tool is {"name": "lookup_order", "description": "…", "input_schema": {…JSON Schema…}, "permissions"?: ["orders:read"]}: "input_schema" is required' }],
      ["tools", { tools: [{ name: "x", description: "d", input_schema: {}, scopes: [] }] }, { path: "content.tools[0].scopes", message: expect.stringMatching(/^a tool is .*: "scopes" is not one of its fields$/) as unknown as string }],
    ];
    it.each(cases)("%s %j", (kind, value, expected) => {
      expect(errorsOf(kind, value)).toContainEqual(expected);
    });
  });
});

describe("evalset kind", () => {
  it("accepts cases with any JSON input and expect; ids unique", () => {
    expect(errorsOf("evalset", { cases: [] })).toEqual([]);
    expect(errorsOf("evalset", { cases: [{ id: "a", input: null }, { id: "b", input: [1], expect: { x: 1 }, tags: ["t"], source_trace_id: "abc" }] })).toEqual([]);
    expect(errorsOf("evalset", { cases: [{ id: "a", input: 1 }, { id: "a", input: 2 }] })).toEqual([{ path: "content.cases[1].id", message: 'duplicate case id "a"' }]);
    expect(errorsOf("evalset", { cases: [{ id: "", input: 1 }] })[0]?.path).toBe("content.cases[0].id");
    expect(errorsOf("evalset", { cases: [{ id: "a\u001b[31m", input: 1 }] })[0]?.path).toBe("content.cases[0].id");
  });
});
