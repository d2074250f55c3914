/**
 * The schema worker thread (see worker-pool.ts for the protocol): compiles JSON Schemas with
 * Ajv, and runs the contract and tools differs, which walk schemas and test their
 * patternProperties regexes. Both can take seconds on a hostile schema; here they only ever
 * block this thread, which the pool terminates when its time budget runs out.
 */
import { parentPort } from "node:worker_threads";
import { compileSchemaErrors } from "../artifacts/kinds/json-schema.js";
import type { SchemaReference } from "../artifacts/kinds/types.js";
import type { FieldError } from "../errors.js";
import { diffComponentContent, type ArtifactKind, type ContentDiffOptions } from "../version-sets/diff/index.js";

export type SchemaJob =
  | { type: "compile"; schemas: SchemaReference[] }
  | { type: "diff"; kind: ArtifactKind; from: unknown; to: unknown; options: ContentDiffOptions };

function run(id: number, job: SchemaJob): unknown {
  if (job.type === "diff") return diffComponentContent(job.kind, job.from, job.to, job.options);
  const errors: FieldError[] = [];
  job.schemas.forEach((ref, step) => {
    parentPort!.postMessage({ type: "progress", id, step });
    errors.push(...compileSchemaErrors(ref.schema, ref.path));
  });
  return errors;
}

if (parentPort) {
  const port = parentPort;
  port.on("message", ({ id, job }: { id: number; job: SchemaJob }) => {
    try {
      port.postMessage({ type: "done", id, value: run(id, job) });
    } catch (err) {
      port.postMessage({ type: "failed", id, message: err instanceof Error ? err.message : String(err) });
    }
  });
  port.postMessage({ type: "ready" });
}
