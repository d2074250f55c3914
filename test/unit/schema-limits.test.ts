import { describe, expect, it } from "vitest";
import { checkSchemaLimits, DEFAULT_SCHEMA_LIMITS, type SchemaLimits } from "../../src/schemas/limits.js";

const limits = (over: Partial<SchemaLimits> = {}): SchemaLimits => ({ ...DEFAULT_SCHEMA_LIMITS, ...over });
const props = (n: number, prefix = "p") => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { type: "string" }]));

describe("schema limits", () => {
  it("accepts ordinary schemas and booleans, refuses what is not a schema", () => {
    expect(checkSchemaLimits({ type: "object", properties: props(20), required: ["p1"] }, "content.schema", limits())).toBeUndefined();
    expect(checkSchemaLimits(true, "content.schema", limits())).toBeUndefined();
    expect(checkSchemaLimits([], "content.schema", limits())).toEqual({ path: "content.schema", message: "must be a JSON Schema (an object or a boolean)" });
    expect(checkSchemaLimits("x", "content.schema", limits())?.message).toMatch(/must be a JSON Schema/);
  });

  it("counts the serialized size exactly, in UTF-8 bytes", () => {
    const schema = { description: "ä😀\"\n", enum: [1.5, -2e-7, true, false, null, "x"], properties: { "k€y": {} } };
    const exact = Buffer.byteLength(JSON.stringify(schema));
    expect(checkSchemaLimits(schema, "s", limits({ maxBytes: exact }))).toBeUndefined();
    expect(checkSchemaLimits(schema, "s", limits({ maxBytes: exact - 1 }))).toEqual({
      path: "s",
      message: `is larger than ${exact - 1} bytes as JSON (limit PINSET_SCHEMA_MAX_BYTES=${exact - 1})`,
    });
  });

  it("refuses the 50 000-property schema of the report by its property count, naming where", () => {
    const schema = { type: "object", properties: props(50_000) };
    expect(checkSchemaLimits(schema, "content.schema", limits({ maxBytes: 10 * 1024 * 1024 }))).toEqual({
      path: "content.schema.properties",
      message: "brings the schema's properties over 5000 (limit PINSET_SCHEMA_MAX_PROPERTIES=5000)",
    });
    // With the default byte limit it is the size that stops it first (1.3 MB > 1 MiB).
    expect(checkSchemaLimits(schema, "content.schema", limits())?.message).toMatch(/PINSET_SCHEMA_MAX_(BYTES|PROPERTIES)/);
  });

  it("adds properties up across levels and counts patternProperties, not data that merely looks like it", () => {
    const nested = { type: "object", properties: { a: { type: "object", properties: props(3) }, b: { patternProperties: { "^x": {} } } } };
    expect(checkSchemaLimits(nested, "s", limits({ maxProperties: 6 }))).toBeUndefined();
    expect(checkSchemaLimits(nested, "s", limits({ maxProperties: 5 }))?.path).toMatch(/^s\.properties(\.a\.properties|\.b\.patternProperties)?$/);
    // `properties` inside examples/default/enum is data, not a schema keyword.
    const data = { examples: [{ properties: props(10) }], default: { properties: props(10) }, const: { allOf: [1, 2, 3] } };
    expect(checkSchemaLimits(data, "s", limits({ maxProperties: 1, maxBranches: 1 }))).toBeUndefined();
    // …but a property *named* "properties" is a property, and its schema is walked.
    const named = { properties: { properties: { properties: props(2) } } };
    expect(checkSchemaLimits(named, "s", limits({ maxProperties: 2 }))?.path).toBe("s.properties.properties.properties");
  });

  it("counts allOf/anyOf/oneOf entries at every level, including inside $defs and items", () => {
    const schema = { allOf: [{}, {}], $defs: { x: { anyOf: [{}, {}] } }, items: { oneOf: [{}, { not: { allOf: [{}] } }] } };
    expect(checkSchemaLimits(schema, "s", limits({ maxBranches: 7 }))).toBeUndefined();
    const refused = checkSchemaLimits(schema, "s", limits({ maxBranches: 6 }));
    expect(refused?.message).toBe("brings the schema's allOf/anyOf/oneOf entries over 6 (limit PINSET_SCHEMA_MAX_BRANCHES=6)");
    expect(refused?.path).toMatch(/^s\.(allOf|\$defs\.x\.anyOf|items\.oneOf|items\.oneOf\[1\]\.not\.allOf)$/);
    expect(checkSchemaLimits({ anyOf: Array.from({ length: 20_000 }, () => ({})) }, "content.schema", limits())).toEqual({
      path: "content.schema.anyOf",
      message: "brings the schema's allOf/anyOf/oneOf entries over 1000 (limit PINSET_SCHEMA_MAX_BRANCHES=1000)",
    });
  });

  it("refuses nesting beyond the depth limit at the node that crosses it, without recursion", () => {
    let deep: unknown = { type: "string" };
    for (let i = 0; i < 100_000; i++) deep = { items: deep };
    const refused = checkSchemaLimits(deep, "content.schema", limits());
    expect(refused?.message).toBe("is nested deeper than 64 levels (limit PINSET_SCHEMA_MAX_DEPTH=64)");
    expect(refused?.path).toBe(`content.schema${".items".repeat(65)}`);
    let ok: unknown = {};
    for (let i = 0; i < 64; i++) ok = { items: ok };
    expect(checkSchemaLimits(ok, "s", limits())).toBeUndefined();
    expect(checkSchemaLimits({ enum: [[[[1]]]] }, "s", limits({ maxDepth: 3 }))?.path).toBe("s.enum[0][0][0]");
  });

  it("stops at the first limit crossed, before reading what lies beyond it", () => {
    const many = props(6_000);
    // A value the walk must never read: the count is over the limit before any value is visited.
    Object.defineProperty(many, "trap", { enumerable: true, get: () => { throw new Error("read past the limit"); } });
    expect(checkSchemaLimits({ properties: many }, "s", limits({ maxBytes: 64 * 1024 * 1024 }))?.path).toBe("s.properties");
  });
});
