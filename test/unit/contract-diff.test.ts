import { describe, expect, it } from "vitest";
import { checkSchemas, compareSchemas, diffContract, MAX_SCHEMA_DEPTH } from "../../src/version-sets/diff/contract.js";

type Schema = unknown;

interface Case {
  name: string;
  old: Schema;
  new: Schema;
  breaking: boolean;
  /** A path that must carry a change with this `breaking` value. */
  path?: string;
  /** The change must say it could not be classified. */
  unclassified?: boolean;
}

const obj = (properties: Record<string, Schema>, extra: Record<string, unknown> = {}): Schema => ({
  type: "object",
  properties,
  ...extra,
});
const answer = (schema: Schema, extra: Record<string, unknown> = {}): Schema => obj({ answer: schema }, extra);
const itemDefs = (item: Schema): Schema => ({
  type: "object",
  properties: { item: { $ref: "#/$defs/Item" }, items: { type: "array", items: { $ref: "#/$defs/Item" } } },
  $defs: { Item: item },
});
const tree = (leaf: Schema): Schema => ({
  $defs: { Node: { type: "object", properties: { value: leaf, children: { type: "array", items: { $ref: "#/$defs/Node" } } } } },
  $ref: "#/$defs/Node",
});

const cases: Case[] = [
  // required
  { name: "required property removed", old: answer({ type: "string" }, { required: ["answer"] }), new: answer({ type: "string" }), breaking: true, path: "$.required" },
  { name: "required property added", old: answer({ type: "string" }), new: answer({ type: "string" }, { required: ["answer"] }), breaking: false, path: "$.required" },
  { name: "required property made optional and removed", old: obj({ a: { type: "string" }, b: {} }, { required: ["a", "b"] }), new: obj({ b: {} }, { required: ["b"] }), breaking: true, path: "$.properties.a" },
  // type
  { name: "type changed", old: answer({ type: "string" }), new: answer({ type: "number" }), breaking: true, path: "$.properties.answer.type" },
  { name: "type widened to nullable", old: answer({ type: "string" }), new: answer({ type: ["string", "null"] }), breaking: true, path: "$.properties.answer.type" },
  { name: "type narrowed from nullable", old: answer({ type: ["null", "string"] }), new: answer({ type: "string" }), breaking: false, path: "$.properties.answer.type" },
  { name: "integer widened to number", old: answer({ type: "integer" }), new: answer({ type: "number" }), breaking: true, path: "$.properties.answer.type" },
  { name: "number narrowed to integer", old: answer({ type: "number" }), new: answer({ type: "integer" }), breaking: false, path: "$.properties.answer.type" },
  { name: "type added where any type was allowed", old: answer({}), new: answer({ type: "boolean" }), breaking: false, path: "$.properties.answer.type" },
  { name: "type removed", old: answer({ type: "boolean" }), new: answer({}), breaking: true, path: "$.properties.answer.type" },
  // enum / const
  { name: "enum value added", old: answer({ enum: ["yes", "no"] }), new: answer({ enum: ["yes", "no", "maybe"] }), breaking: true, path: "$.properties.answer.enum" },
  { name: "enum value removed", old: answer({ enum: ["yes", "no", "maybe"] }), new: answer({ enum: ["yes", "no"] }), breaking: false, path: "$.properties.answer.enum" },
  { name: "enum added", old: answer({ type: "string" }), new: answer({ type: "string", enum: ["a"] }), breaking: false, path: "$.properties.answer.enum" },
  { name: "enum dropped", old: answer({ enum: [1, 2] }), new: answer({}), breaking: true, path: "$.properties.answer.enum" },
  { name: "enum of objects: value added", old: answer({ enum: [{ a: 1, b: 2 }] }), new: answer({ enum: [{ b: 2, a: 1 }, { a: 3 }] }), breaking: true, path: "$.properties.answer.enum" },
  { name: "const removed", old: answer({ const: "v1" }), new: answer({ type: "string" }), breaking: true, path: "$.properties.answer.const" },
  { name: "const changed", old: answer({ const: "v1" }), new: answer({ const: "v2" }), breaking: true, path: "$.properties.answer.const" },
  { name: "const added", old: answer({ type: "string" }), new: answer({ type: "string", const: "v1" }), breaking: false, path: "$.properties.answer.const" },
  { name: "enum narrowed to a const", old: answer({ enum: ["a", "b"] }), new: answer({ const: "a" }), breaking: false },
  // numeric bounds
  { name: "minimum raised", old: answer({ type: "number", minimum: 0 }), new: answer({ type: "number", minimum: 1 }), breaking: false, path: "$.properties.answer.minimum" },
  { name: "minimum lowered", old: answer({ type: "number", minimum: 1 }), new: answer({ type: "number", minimum: 0 }), breaking: true, path: "$.properties.answer.minimum" },
  { name: "maximum removed", old: answer({ type: "number", maximum: 10 }), new: answer({ type: "number" }), breaking: true, path: "$.properties.answer.maximum" },
  { name: "exclusiveMaximum added", old: answer({ type: "number" }), new: answer({ type: "number", exclusiveMaximum: 10 }), breaking: false, path: "$.properties.answer.exclusiveMaximum" },
  { name: "minimum made exclusive (tighter)", old: answer({ minimum: 5 }), new: answer({ exclusiveMinimum: 5 }), breaking: false, path: "$.properties.answer.exclusiveMinimum" },
  { name: "exclusiveMinimum made inclusive (looser)", old: answer({ exclusiveMinimum: 5 }), new: answer({ minimum: 5 }), breaking: true, path: "$.properties.answer.minimum" },
  { name: "exclusiveMaximum raised", old: answer({ exclusiveMaximum: 1 }), new: answer({ exclusiveMaximum: 2 }), breaking: true, path: "$.properties.answer.exclusiveMaximum" },
  { name: "multipleOf to a multiple (tighter)", old: answer({ multipleOf: 2 }), new: answer({ multipleOf: 4 }), breaking: false, path: "$.properties.answer.multipleOf" },
  { name: "multipleOf to a divisor (looser)", old: answer({ multipleOf: 4 }), new: answer({ multipleOf: 2 }), breaking: true, path: "$.properties.answer.multipleOf" },
  { name: "multipleOf to an unrelated step", old: answer({ multipleOf: 2 }), new: answer({ multipleOf: 3 }), breaking: true, path: "$.properties.answer.multipleOf" },
  { name: "multipleOf removed", old: answer({ multipleOf: 0.5 }), new: answer({}), breaking: true, path: "$.properties.answer.multipleOf" },
  // length / count bounds
  { name: "minLength raised", old: answer({ minLength: 1 }), new: answer({ minLength: 3 }), breaking: false, path: "$.properties.answer.minLength" },
  { name: "maxLength raised", old: answer({ maxLength: 100 }), new: answer({ maxLength: 200 }), breaking: true, path: "$.properties.answer.maxLength" },
  { name: "maxLength lowered", old: answer({ maxLength: 200 }), new: answer({ maxLength: 100 }), breaking: false, path: "$.properties.answer.maxLength" },
  { name: "minItems lowered", old: answer({ minItems: 2 }), new: answer({ minItems: 1 }), breaking: true, path: "$.properties.answer.minItems" },
  { name: "maxItems removed", old: answer({ maxItems: 5 }), new: answer({}), breaking: true, path: "$.properties.answer.maxItems" },
  { name: "minProperties added", old: answer({}), new: answer({ minProperties: 1 }), breaking: false, path: "$.properties.answer.minProperties" },
  { name: "maxProperties raised", old: answer({ maxProperties: 3 }), new: answer({ maxProperties: 4 }), breaking: true, path: "$.properties.answer.maxProperties" },
  { name: "minLength 0 is the same as none", old: answer({ minLength: 0 }), new: answer({}), breaking: false },
  // pattern, uniqueItems
  { name: "pattern changed", old: answer({ pattern: "^[a-z]+$" }), new: answer({ pattern: "^[a-z]*$" }), breaking: true, path: "$.properties.answer.pattern" },
  { name: "pattern removed", old: answer({ pattern: "^a" }), new: answer({}), breaking: true, path: "$.properties.answer.pattern" },
  { name: "pattern added", old: answer({}), new: answer({ pattern: "^a" }), breaking: false, path: "$.properties.answer.pattern" },
  { name: "uniqueItems dropped", old: answer({ uniqueItems: true }), new: answer({ uniqueItems: false }), breaking: true, path: "$.properties.answer.uniqueItems" },
  // additionalProperties and properties
  { name: "additionalProperties: false dropped", old: answer({}, { additionalProperties: false }), new: answer({}), breaking: true, path: "$.additionalProperties" },
  { name: "additionalProperties: false added", old: answer({}), new: answer({}, { additionalProperties: false }), breaking: false, path: "$.additionalProperties" },
  { name: "additionalProperties false loosened to a schema", old: answer({}, { additionalProperties: false }), new: answer({}, { additionalProperties: { type: "string" } }), breaking: true, path: "$.additionalProperties" },
  { name: "additionalProperties schema tightened", old: answer({}, { additionalProperties: { type: "string" } }), new: answer({}, { additionalProperties: { type: "string", maxLength: 3 } }), breaking: false, path: "$.additionalProperties.maxLength" },
  { name: "additionalProperties schema loosened", old: answer({}, { additionalProperties: { type: "string" } }), new: answer({}, { additionalProperties: { type: ["string", "number"] } }), breaking: true, path: "$.additionalProperties.type" },
  { name: "new optional property with constraints", old: answer({ type: "string" }), new: obj({ answer: { type: "string" }, score: { type: "number", minimum: 0 } }), breaking: false, path: "$.properties.score" },
  { name: "new property under additionalProperties: false", old: answer({}, { additionalProperties: false }), new: obj({ answer: {}, extra: { type: "string" } }, { additionalProperties: false }), breaking: true, path: "$.properties.extra" },
  { name: "property removed (now unconstrained)", old: obj({ a: { type: "string" }, b: { type: "number" } }), new: obj({ a: { type: "string" } }), breaking: true, path: "$.properties.b" },
  { name: "property removed under additionalProperties: false", old: obj({ a: {}, b: {} }, { additionalProperties: false }), new: obj({ a: {} }, { additionalProperties: false }), breaking: false, path: "$.properties.b" },
  { name: "property name that needs quoting", old: obj({ "first-name": { maxLength: 10 } }), new: obj({ "first-name": { maxLength: 20 } }), breaking: true, path: '$.properties["first-name"].maxLength' },
  // items / prefixItems
  { name: "items loosened", old: answer({ type: "array", items: { type: "string" } }), new: answer({ type: "array", items: { type: ["string", "number"] } }), breaking: true, path: "$.properties.answer.items.type" },
  { name: "items tightened", old: answer({ type: "array", items: { type: "string" } }), new: answer({ type: "array", items: { type: "string", maxLength: 5 } }), breaking: false, path: "$.properties.answer.items.maxLength" },
  { name: "items schema removed", old: answer({ type: "array", items: { type: "string" } }), new: answer({ type: "array" }), breaking: true, path: "$.properties.answer.items.type" },
  { name: "prefixItems slot loosened", old: { prefixItems: [{ type: "string" }, { type: "number" }] }, new: { prefixItems: [{ type: ["string", "null"] }, { type: "number" }] }, breaking: true, path: "$.prefixItems[0].type" },
  { name: "prefixItems slot added (was unconstrained)", old: { prefixItems: [{ type: "string" }] }, new: { prefixItems: [{ type: "string" }, { type: "number" }] }, breaking: false, path: "$.prefixItems[1]" },
  { name: "closed tuple opened (items: false dropped)", old: { prefixItems: [{ type: "string" }], items: false }, new: { prefixItems: [{ type: "string" }] }, breaking: true, path: "$.items" },
  // nesting
  { name: "deeply nested type change", old: obj({ a: obj({ b: obj({ c: { type: "array", items: obj({ d: { type: "integer" } }) } }) }) }), new: obj({ a: obj({ b: obj({ c: { type: "array", items: obj({ d: { type: "number" } }) } }) }) }), breaking: true, path: "$.properties.a.properties.b.properties.c.items.properties.d.type" },
  { name: "deeply nested tightening", old: obj({ a: obj({ b: { type: "string" } }) }), new: obj({ a: obj({ b: { type: "string" } }, { required: ["b"] }) }), breaking: false, path: "$.properties.a.required" },
  // $ref
  { name: "$ref target loosened ($defs)", old: itemDefs(obj({ qty: { type: "integer" } })), new: itemDefs(obj({ qty: { type: "number" } })), breaking: true, path: "$.$defs.Item.properties.qty.type" },
  { name: "$ref target tightened ($defs)", old: itemDefs(obj({ qty: { type: "integer" } })), new: itemDefs(obj({ qty: { type: "integer", minimum: 1 } })), breaking: false, path: "$.$defs.Item.properties.qty.minimum" },
  { name: "$ref through definitions (draft-07 location)", old: { definitions: { S: { type: "string" } }, properties: { s: { $ref: "#/definitions/S" } } }, new: { definitions: { S: { type: "string", enum: ["x", "y"] } }, properties: { s: { $ref: "#/definitions/S" } } }, breaking: false, path: "$.definitions.S.enum" },
  { name: "$ref inlined (same schema)", old: itemDefs(obj({ qty: { type: "integer" } })), new: { type: "object", properties: { item: obj({ qty: { type: "integer" } }), items: { type: "array", items: obj({ qty: { type: "integer" } }) } } }, breaking: false },
  { name: "$ref next to other keywords: target changed", old: { $defs: { S: { type: "string" } }, properties: { s: { $ref: "#/$defs/S", maxLength: 3 } } }, new: { $defs: { S: { type: ["string", "null"] } }, properties: { s: { $ref: "#/$defs/S", maxLength: 3 } } }, breaking: true, path: "$.$defs.S.type" },
  { name: "recursive $ref: loosened", old: tree({ type: "string" }), new: tree({ type: ["string", "number"] }), breaking: true, path: "$.$defs.Node.properties.value.type" },
  { name: "recursive $ref: tightened", old: tree({ type: "string" }), new: tree({ type: "string", maxLength: 9 }), breaking: false, path: "$.$defs.Node.properties.value.maxLength" },
  { name: "$ref cycle with no schema", old: { $defs: { A: { $ref: "#/$defs/B" }, B: { $ref: "#/$defs/A" } }, properties: { x: { type: "string" } } }, new: { $defs: { A: { $ref: "#/$defs/B" }, B: { $ref: "#/$defs/A" } }, properties: { x: { $ref: "#/$defs/A" } } }, breaking: true, path: "$.properties.x", unclassified: true },
  { name: "remote $ref changed", old: answer({ $ref: "https://example.com/a.json" }), new: answer({ $ref: "https://example.com/b.json" }), breaking: true, path: "$.properties.answer", unclassified: true },
  { name: "inline schema replaced by a remote $ref", old: answer({ type: "string" }), new: answer({ $ref: "https://example.com/a.json" }), breaking: true, path: "$.properties.answer", unclassified: true },
  // combinators
  { name: "anyOf branch added", old: answer({ anyOf: [{ type: "string" }, { type: "null" }] }), new: answer({ anyOf: [{ type: "null" }, { type: "string" }, { type: "number" }] }), breaking: true, path: "$.properties.answer.anyOf[2]" },
  { name: "anyOf branch removed", old: answer({ anyOf: [{ type: "string" }, { type: "null" }] }), new: answer({ anyOf: [{ type: "string" }] }), breaking: false, path: "$.properties.answer.anyOf" },
  { name: "anyOf branch tightened", old: answer({ anyOf: [{ type: "string" }, { type: "null" }] }), new: answer({ anyOf: [{ type: "null" }, { type: "string", maxLength: 2 }] }), breaking: false, path: "$.properties.answer.anyOf[1].maxLength" },
  { name: "allOf conjunct added", old: answer({ allOf: [{ type: "string" }] }), new: answer({ allOf: [{ type: "string" }, { minLength: 1 }] }), breaking: false, path: "$.properties.answer.allOf[1]" },
  { name: "allOf conjunct removed", old: answer({ allOf: [{ type: "string" }, { minLength: 1 }] }), new: answer({ allOf: [{ type: "string" }] }), breaking: true, path: "$.properties.answer.allOf" },
  // unclassifiable
  { name: "oneOf changed", old: answer({ oneOf: [{ type: "string" }, { type: "number" }] }), new: answer({ oneOf: [{ type: "string" }] }), breaking: true, path: "$.properties.answer.oneOf", unclassified: true },
  { name: "not added", old: answer({}), new: answer({ not: { type: "null" } }), breaking: true, path: "$.properties.answer.not", unclassified: true },
  { name: "if/then/else added", old: answer({}), new: answer({ if: { type: "string" }, then: { minLength: 1 }, else: { type: "null" } }), breaking: true, path: "$.properties.answer.if", unclassified: true },
  { name: "patternProperties changed", old: { patternProperties: { "^x-": { type: "string" } } }, new: { patternProperties: { "^x-": { type: "number" } } }, breaking: true, path: "$.patternProperties", unclassified: true },
  { name: "unknown keyword changed", old: answer({ "x-unit": "cm" }), new: answer({ "x-unit": "mm" }), breaking: true, path: '$.properties.answer["x-unit"]', unclassified: true },
  { name: "dependentRequired added", old: answer({}), new: answer({}, { dependentRequired: { answer: ["why"] } }), breaking: true, path: "$.dependentRequired", unclassified: true },
  { name: "oneOf unchanged but its $ref target changed", old: { $defs: { A: { type: "string" } }, oneOf: [{ $ref: "#/$defs/A" }, { type: "null" }] }, new: { $defs: { A: { type: "number" } }, oneOf: [{ $ref: "#/$defs/A" }, { type: "null" }] }, breaking: true, path: "$.oneOf", unclassified: true },
  { name: "unevaluatedProperties schema changed", old: { properties: { a: {} }, unevaluatedProperties: false }, new: { properties: { a: {}, b: {} }, unevaluatedProperties: false }, breaking: true, path: "$", unclassified: true },
  // boolean schemas, annotations
  { name: "schema true became false", old: answer(true), new: answer(false), breaking: false, path: "$.properties.answer" },
  { name: "schema false became a schema", old: answer(false), new: answer({ type: "string" }), breaking: true, path: "$.properties.answer" },
  { name: "description changed only", old: answer({ type: "string", description: "old" }), new: answer({ type: "string", description: "new" }), breaking: false, path: "$.properties.answer.description" },
];

describe("contract compatibility (output direction)", () => {
  it("has a table of at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)("$name", (c) => {
    const result = diffContract({ schema: c.old }, { schema: c.new });
    expect(result.breaking).toBe(c.breaking);
    expect(result.breaking).toBe(result.changes.some((change) => change.breaking));
    if (c.path !== undefined) {
      const at = result.changes.filter((change) => change.path === c.path);
      expect(at, JSON.stringify(result.changes)).not.toHaveLength(0);
      expect(at.some((change) => change.breaking === c.breaking)).toBe(true);
    }
    if (c.unclassified) {
      expect(result.changes.some((change) => change.path === c.path && change.message.includes("could not be classified"))).toBe(true);
    }
  });
});

describe("contract checker invariants", () => {
  const schema = {
    type: "object",
    required: ["answer", "confidence"],
    additionalProperties: false,
    properties: {
      answer: { type: "string", maxLength: 200 },
      confidence: { type: "number", minimum: 0, maximum: 1 },
      tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 3 },
    },
  };

  it("identical schemas give no changes", () => {
    expect(diffContract({ schema }, { schema: structuredClone(schema) })).toEqual({ breaking: false, changes: [] });
  });

  it("keyword, property, enum and required order do not matter", () => {
    const reordered = {
      properties: {
        tags: { maxItems: 3, items: { enum: ["b", "a"] }, type: "array" },
        confidence: { maximum: 1, minimum: 0, type: "number" },
        answer: { maxLength: 200, type: "string" },
      },
      additionalProperties: false,
      required: ["confidence", "answer"],
      type: "object",
    };
    expect(diffContract({ schema }, { schema: reordered })).toEqual({ breaking: false, changes: [] });
  });

  it("integer-or-number is the same type set as number", () => {
    expect(compareSchemas({ type: ["integer", "number"] }, { type: "number" })).toEqual([]);
  });

  it("reports every change once, sorted by path, with messages", () => {
    const next = structuredClone(schema) as typeof schema & { properties: Record<string, unknown> };
    next.required = ["answer"];
    next.properties.answer.maxLength = 100;
    next.properties.tags.items.enum = ["a", "b", "c"];
    const result = diffContract({ schema }, { schema: next });
    expect(result.changes).toEqual([
      { path: "$.properties.answer.maxLength", breaking: false, message: "maxLength lowered from 200 to 100" },
      { path: "$.properties.tags.items.enum", breaking: true, message: 'enum value "c" added' },
      { path: "$.required", breaking: true, message: 'required property "confidence" removed or made optional' },
    ]);
  });

  it("reports a shared $defs target once, at its own location", () => {
    const changes = compareSchemas(itemDefs({ type: "string" }), itemDefs({ type: "number" }));
    expect(changes).toEqual([{ path: "$.$defs.Item.type", relation: "changed", message: 'type changed from "string" to "number"' }]);
  });

  it("input direction reverses narrowing and widening", () => {
    const old = answer({ type: "string", maxLength: 10 });
    expect(checkSchemas(old, answer({ type: "string", maxLength: 5 }), "input").breaking).toBe(true);
    expect(checkSchemas(old, answer({ type: "string", maxLength: 20 }), "input").breaking).toBe(false);
    expect(checkSchemas(old, answer({ type: "string", maxLength: 5 }), "output").breaking).toBe(false);
    expect(checkSchemas(old, answer({ type: "number" }), "input").breaking).toBe(true);
  });

  it("a missing schema reads as true", () => {
    expect(diffContract({}, { schema: true })).toEqual({ breaking: false, changes: [] });
    expect(diffContract({}, { schema: { type: "string" } }).breaking).toBe(false);
  });
});

describe("deep schemas", () => {
  const nest = (levels: number, leaf: Schema): Schema => {
    let node = leaf;
    for (let i = 0; i < levels; i++) node = { type: "object", properties: { next: node } };
    return node;
  };

  it("an identical 5 000-level schema compares equal without throwing", () => {
    expect(diffContract({ schema: nest(5000, { type: "string" }) }, { schema: nest(5000, { type: "string" }) })).toEqual({ breaking: false, changes: [] });
  });

  it("a change 5 000 levels down is one unclassified breaking change at the depth limit", () => {
    const result = diffContract({ schema: nest(5000, { type: "string" }) }, { schema: nest(5000, { type: "string", maxLength: 1 }) });
    expect(result.breaking).toBe(true);
    expect(result.changes).toHaveLength(1);
    expect(result.changes[0]!.message).toContain("could not be classified");
    expect(result.changes[0]!.path.split(".properties.next")).toHaveLength(MAX_SCHEMA_DEPTH + 2);
  });

  it("a change just inside the depth limit is still classified", () => {
    const result = diffContract({ schema: nest(MAX_SCHEMA_DEPTH - 1, { type: "string" }) }, { schema: nest(MAX_SCHEMA_DEPTH - 1, { type: "string", maxLength: 1 }) });
    expect(result).toMatchObject({ breaking: false, changes: [{ breaking: false, message: "maxLength 1 added" }] });
  });
});
