import type { KindValidator } from "./types.js";
import { describeValue, unknownField, type ContentShape } from "./shape-errors.js";

export const CONTRACT_SHAPE: ContentShape = { root: 'a contract is {"schema": {…a JSON Schema 2020-12…}}' };

/** Keywords that show a bare schema was posted where the contract wraps it in `schema`. */
const SCHEMA_KEYWORDS = new Set(["$schema", "$id", "$defs", "type", "properties", "required", "items", "enum", "const", "oneOf", "anyOf", "allOf", "$ref", "additionalProperties"]);

export const contractKind: KindValidator = {
  kind: "contract",
  validate(content) {
    if (!content || typeof content !== "object" || Array.isArray(content)) {
      return { errors: [{ path: "content", message: `${CONTRACT_SHAPE.root}, not ${describeValue(content)}` }] };
    }
    const extra = Object.keys(content).filter((k) => k !== "schema");
    if (extra.length > 0) {
      const bareSchema = !("schema" in content) && extra.some((k) => SCHEMA_KEYWORDS.has(k));
      const wrap = bareSchema ? ' (this looks like the schema itself: send {"schema": <it>})' : "";
      return { errors: extra.map((k) => ({ path: `content.${k}`, message: `${unknownField(CONTRACT_SHAPE.root, k)}${wrap}` })) };
    }
    if (!("schema" in content)) return { errors: [{ path: "content.schema", message: `${CONTRACT_SHAPE.root}: "schema" is required` }] };
    return { errors: [], schemas: [{ path: "content.schema", schema: (content as { schema: unknown }).schema }] };
  },
};
