/** JSON Schemas that are hard on a compiler or a differ, for the schema limit and budget tests. */

/** `n` string properties named p0…p{n-1}. */
export function manyProperties(n: number, property: object = { type: "string" }): Record<string, object> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, property]));
}

/**
 * Within the default limits (181 KB, 1 000 allOf entries, 4 000 properties) yet several seconds
 * of Ajv compile: each of the 1 000 `$ref`s to the 4 000-property definition costs a compile of
 * it (~8 s on a busy core; without the compiler settings of json-schema.ts far longer).
 */
export function slowSchema(): object {
  return { $defs: { big: { type: "object", properties: manyProperties(4_000, { type: "string", minLength: 1 }) } }, allOf: Array.from({ length: 1_000 }, () => ({ $ref: "#/$defs/big" })) };
}

/**
 * Two contracts whose comparison tests a catastrophically backtracking patternProperties regex
 * against a new property's name: about 2^27 steps: ~20 s on one idle core.
 */
export function redosContracts(): { before: object; after: object } {
  const patternProperties = { "^(a+)+$": { type: "string" } };
  return {
    before: { schema: { type: "object", patternProperties, properties: {} } },
    after: { schema: { type: "object", patternProperties, properties: { [`${"a".repeat(27)}!`]: { type: "number" } } } },
  };
}
