/** JSON Schemas that are hard on a compiler or a differ, for the schema limit and budget tests. */

/** `n` string properties named p0…p{n-1}. */
export function manyProperties(n: number, property: object = { type: "string" }): Record<string, object> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, property]));
}

/**
 * Within the default limits (61 KB, 1 000 allOf entries, 1 000 properties) yet seconds of Ajv
 * compile: every one of the 1 000 `$ref`s to the 1 000-property definition costs a compile of
 * it (~3.5 s on an idle core; minutes with Ajv's default inlining of refs, as before).
 */
export function slowSchema(): object {
  return { $defs: { big: { type: "object", properties: manyProperties(1_000, { type: "string", minLength: 1 }) } }, allOf: Array.from({ length: 1_000 }, () => ({ $ref: "#/$defs/big" })) };
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
