import Ajv2020 from "ajv/dist/2020.js";
import type { FieldError } from "../../errors.js";

/**
 * Compiles a JSON Schema 2020-12 document to prove it is usable. `$ref`s are resolved only
 * inside the document: Ajv is given no loader, so a remote `$ref` fails to compile instead of
 * being fetched. Unknown keywords are tolerated (annotations like `x-…` are common).
 */
const ajv = new Ajv2020.default({ strict: false, allErrors: false, validateFormats: false, addUsedSchema: false });

/** Deeper schemas than this are refused before Ajv's recursive compiler sees them. */
const MAX_SCHEMA_DEPTH = 64;

function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (max > limit) return max;
    if (node && typeof node === "object") {
      for (const child of Object.values(node as object)) stack.push([child, depth + 1]);
    }
  }
  return max;
}

export function compileSchemaErrors(schema: unknown, path: string): FieldError[] {
  if (typeof schema === "boolean") return [];
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
    return [{ path, message: "must be a JSON Schema (an object or a boolean)" }];
  }
  if (depthOf(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH) {
    return [{ path, message: `is nested deeper than ${MAX_SCHEMA_DEPTH} levels` }];
  }
  try {
    ajv.compile(schema);
    return [];
  } catch (err) {
    return [{ path, message: `does not compile as JSON Schema 2020-12: ${(err as Error).message}` }];
  } finally {
    ajv.removeSchema(schema as object);
  }
}
