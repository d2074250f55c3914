import Ajv2020 from "ajv/dist/2020.js";
import type { FieldError } from "../../core/errors.js";

/**
 * Compiles a JSON Schema 2020-12 document to prove it is usable. `$ref`s are resolved only
 * inside the document: Ajv is given no loader, so a remote `$ref` fails to compile instead of
 * being fetched. Unknown keywords are tolerated (annotations like `x-…` are common).
 *
 * Runs in a schema worker thread (src/schemas/), never on the event loop, and only on schemas
 * within the limits of src/schemas/limits.ts (which also bounds their depth for Ajv's recursive
 * compiler). The generated code is thrown away, so: no code optimisation pass (5× faster);
 * `allErrors` generates flat code instead of one nested block per property, which V8 cannot
 * parse beyond ~3 000 properties; no inlining of `$ref` targets, which copies a target's code
 * into every place that refers to it (a 30 KB schema of 1 000 refs to one 200-property
 * definition took 106 s to compile; 1.3 s without); and no logger, since Ajv would print the
 * whole generated function on every failure.
 */
const ajv = new Ajv2020.default({
  strict: false,
  allErrors: true,
  validateFormats: false,
  addUsedSchema: false,
  logger: false,
  code: { optimize: false },
  inlineRefs: false,
  validateSchema: false,
});

export function compileSchemaErrors(schema: unknown, path: string): FieldError[] {
  if (typeof schema === "boolean") return [];
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
    return [{ path, message: "must be a JSON Schema (an object or a boolean)" }];
  }
  try {
    // Checked apart from compile(): with allErrors, compile would report every meta-schema
    // violation (thousands for a large schema); the first one is the answer.
    if (!ajv.validateSchema(schema)) {
      const first = ajv.errors?.[0];
      const what = first ? `data${first.instancePath} ${first.message}` : "it does not match the meta-schema";
      return [{ path, message: `does not compile as JSON Schema 2020-12: schema is invalid: ${what}` }];
    }
    ajv.compile(schema);
    return [];
  } catch (err) {
    return [{ path, message: `does not compile as JSON Schema 2020-12: ${(err as Error).message}` }];
  } finally {
    ajv.removeSchema(schema as object);
  }
}
