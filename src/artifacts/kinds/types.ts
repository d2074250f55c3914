import type { FieldError } from "../../core/errors.js";

export const ARTIFACT_KINDS = ["prompt", "contract", "model", "index", "tools", "config", "evalset"] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export function isArtifactKind(value: string): value is ArtifactKind {
  return (ARTIFACT_KINDS as readonly string[]).includes(value);
}

/** A file an index manifest points at; the service checks the project holds these blobs. */
export interface BlobReference {
  path: string;
  digest: string;
  size: number;
}

/** A JSON Schema inside the content, at `path` (e.g. `content.tools[2].input_schema`). */
export interface SchemaReference {
  path: string;
  schema: unknown;
}

export interface KindCheck {
  /** Problems with the content, each with a JSON path under `content`. Empty when valid. */
  errors: FieldError[];
  /** Blobs the content references (index files). */
  blobs?: BlobReference[];
  /**
   * JSON Schemas the content carries (contracts, tool input schemas). The service checks them
   * against the schema limits and compiles them in a worker thread, off the event loop.
   */
  schemas?: SchemaReference[];
}

/** One file per kind implements this: pure validation of the content, no I/O. */
export interface KindValidator {
  kind: ArtifactKind;
  validate(content: unknown): KindCheck;
}
