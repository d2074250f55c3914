import type { FieldError } from "../core/errors.js";

/**
 * What one JSON Schema (a contract's `schema`, a tool's `input_schema`) may be. Checked before
 * anything compiles or compares it, in one iterative pass that stops at the first limit
 * crossed, so a 10 MiB schema is refused in about the time it takes to count to the limit.
 * Compile time grows with these figures (Ajv spends ~0.1 ms per property), and the diff walks
 * the same nodes; the compile time budget (timeoutMs) catches whatever stays expensive within
 * them.
 */
export interface SchemaLimits {
  /** Size of the schema as compact JSON, in UTF-8 bytes. */
  maxBytes: number;
  /** Nesting of JSON objects and arrays (the schema itself is level 0). */
  maxDepth: number;
  /** Named entries of every `properties` and `patternProperties` object, all levels together. */
  maxProperties: number;
  /** Entries of every `allOf`, `anyOf` and `oneOf` array, all levels together. */
  maxBranches: number;
}

export const DEFAULT_SCHEMA_LIMITS: Readonly<SchemaLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 64,
  maxProperties: 5_000,
  maxBranches: 1_000,
});

/** The environment variable behind each limit, named in every refusal. */
export const SCHEMA_LIMIT_VARIABLES: Readonly<Record<keyof SchemaLimits, string>> = {
  maxBytes: "PINSET_SCHEMA_MAX_BYTES",
  maxDepth: "PINSET_SCHEMA_MAX_DEPTH",
  maxProperties: "PINSET_SCHEMA_MAX_PROPERTIES",
  maxBranches: "PINSET_SCHEMA_MAX_BRANCHES",
};

/** Keywords whose value is a map of name → subschema. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);
/** Keywords whose value is an array of subschemas. */
const SCHEMA_ARRAYS = new Set(["allOf", "anyOf", "oneOf", "prefixItems"]);
/** Keywords whose value is one subschema (`items` may also be a draft-07 array). */
const SCHEMA_SINGLES = new Set([
  "items", "additionalItems", "additionalProperties", "unevaluatedItems", "unevaluatedProperties", "contains",
  "propertyNames", "if", "then", "else", "not", "contentSchema",
]);
const COUNTED_MAPS = new Set(["properties", "patternProperties"]);
const BRANCHES = new Set(["allOf", "anyOf", "oneOf"]);

/** What a JSON node is to the schema: a schema, a map or array of schemas, or plain data. */
type Role = "schema" | "map" | "array" | "data";

interface Node {
  value: unknown;
  parent: Node | undefined;
  key: string | number | undefined;
  depth: number;
  role: Role;
}

function pathOf(base: string, node: Node): string {
  const steps: Array<string | number> = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) steps.push(n.key);
  return steps.reverse().reduce<string>((path, key) => (typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`), base);
}

function childRole(parent: Role, key: string): Role {
  if (parent === "map") return "schema";
  if (parent !== "schema") return "data";
  if (SCHEMA_MAPS.has(key)) return "map";
  if (SCHEMA_ARRAYS.has(key)) return "array";
  return SCHEMA_SINGLES.has(key) ? "schema" : "data";
}

function scalarBytes(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(JSON.stringify(value));
  if (typeof value === "number") return JSON.stringify(value).length;
  if (typeof value === "boolean") return value ? 4 : 5;
  return 4; // null
}

/**
 * The first limit `schema` crosses, as a field error under `base` (`content.schema`,
 * `content.tools[3].input_schema`) naming where and which setting; undefined when within all.
 * Also refuses a value that is neither an object nor a boolean.
 */
export function checkSchemaLimits(schema: unknown, base: string, limits: SchemaLimits): FieldError | undefined {
  if (typeof schema === "boolean") return undefined;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    return { path: base, message: "must be a JSON Schema (an object or a boolean)" };
  }
  let bytes = 0;
  let properties = 0;
  let branches = 0;
  const stack: Node[] = [{ value: schema, parent: undefined, key: undefined, depth: 0, role: "schema" }];
  // Scalars are counted where they are met; only objects and arrays are pushed.
  const visit = (value: unknown, parent: Node, key: string | number, role: Role): void => {
    if (value !== null && typeof value === "object") stack.push({ value, parent, key, depth: parent.depth + 1, role });
    else bytes += scalarBytes(value);
  };
  while (stack.length > 0) {
    const node = stack.pop()!;
    const value = node.value as object;
    if (node.depth > limits.maxDepth) {
      return { path: pathOf(base, node), message: `is nested deeper than ${limits.maxDepth} levels (limit ${SCHEMA_LIMIT_VARIABLES.maxDepth}=${limits.maxDepth})` };
    }
    if (Array.isArray(value)) {
      bytes += 2 + Math.max(0, value.length - 1);
      if (node.role === "array" && BRANCHES.has(String(node.key))) {
        branches += value.length;
        if (branches > limits.maxBranches) {
          return { path: pathOf(base, node), message: `brings the schema's allOf/anyOf/oneOf entries over ${limits.maxBranches} (limit ${SCHEMA_LIMIT_VARIABLES.maxBranches}=${limits.maxBranches})` };
        }
      }
      // Entries of allOf/anyOf/oneOf/prefixItems, and of a draft-07 `items` array, are schemas.
      const role: Role = node.role === "array" || (node.role === "schema" && node.key === "items") ? "schema" : "data";
      for (let i = value.length - 1; i >= 0; i--) visit(value[i], node, i, role);
    } else {
      const keys = Object.keys(value);
      bytes += 2 + Math.max(0, keys.length - 1);
      if (node.role === "map" && COUNTED_MAPS.has(String(node.key))) {
        properties += keys.length;
        if (properties > limits.maxProperties) {
          return { path: pathOf(base, node), message: `brings the schema's properties over ${limits.maxProperties} (limit ${SCHEMA_LIMIT_VARIABLES.maxProperties}=${limits.maxProperties})` };
        }
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        bytes += scalarBytes(key) + 1;
        visit((value as Record<string, unknown>)[key], node, key, childRole(node.role, key));
      }
    }
    if (bytes > limits.maxBytes) {
      return { path: base, message: `is larger than ${limits.maxBytes} bytes as JSON (limit ${SCHEMA_LIMIT_VARIABLES.maxBytes}=${limits.maxBytes})` };
    }
  }
  return undefined;
}
