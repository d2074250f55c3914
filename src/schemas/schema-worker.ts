/**
 * The schema worker thread (see worker-pool.ts for the protocol): compiles JSON Schemas with
 * Ajv, and runs the contract and tools differs, which walk schemas and test their
 * patternProperties regexes. Both can take seconds on a hostile schema; here they only ever
 * block this thread, which the pool terminates when its time budget runs out.
 */
import os from "node:os";
import { parentPort } from "node:worker_threads";
import { compileSchemaErrors } from "../artifacts/kinds/json-schema.js";
import type { SchemaReference } from "../artifacts/kinds/types.js";
import type { FieldError } from "../core/errors.js";
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

/**
 * Compiling is background work: on Linux, setpriority(2) with pid 0 lowers the nice value of
 * the calling thread only, so this thread yields the CPU to the event loop of its own process
 * (and to other requests) whenever they contend. Elsewhere it would lower the whole process,
 * so it is left alone.
 */
const BACKGROUND_NICE = 10;

if (parentPort) {
  if (process.platform === "linux") {
    try {
      os.setPriority(0, BACKGROUND_NICE);
    } catch {
      // Not permitted in this sandbox: run at the normal priority.
    }
  }
  // Ajv compiles its meta-schema on first use: done here, before "ready", so that it is not
  // charged to the first job's time budget.
  compileSchemaErrors({ type: "object", properties: { warm: { type: "string" } } }, "warm-up");
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
