import type { KindValidator } from "./types.js";

export const contractKind: KindValidator = {
  kind: "contract",
  validate(content) {
    if (!content || typeof content !== "object" || Array.isArray(content)) {
      return { errors: [{ path: "content", message: 'must be an object {"schema": <JSON Schema>}' }] };
    }
    const extra = Object.keys(content).filter((k) => k !== "schema");
    if (extra.length > 0) {
      return { errors: extra.map((k) => ({ path: `content.${k}`, message: "is not a field of a contract" })) };
    }
    if (!("schema" in content)) return { errors: [{ path: "content.schema", message: "is required" }] };
    return { errors: [], schemas: [{ path: "content.schema", schema: (content as { schema: unknown }).schema }] };
  },
};
