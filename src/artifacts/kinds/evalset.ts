import { z } from "zod";
import type { FieldError } from "../../core/errors.js";
import { refuseTerminalUnsafe } from "./terminal-safe.js";
import type { KindValidator } from "./types.js";
import { contentErrors, type ContentShape } from "./shape-errors.js";

const caseId = z.string().min(1).max(256).superRefine(refuseTerminalUnsafe);

const evalsetContent = z.strictObject({
  cases: z
    .array(
      z.strictObject({
        id: caseId,
        input: z.unknown(),
        expect: z.unknown().optional(),
        tags: z.array(z.string().min(1).max(256).superRefine(refuseTerminalUnsafe)).max(256).optional(),
        source_trace_id: z.string().min(1).max(256).superRefine(refuseTerminalUnsafe).optional(),
      }),
    )
    .max(100_000),
});

export const EVALSET_SHAPE: ContentShape = {
  root: 'an evalset is {"cases": [{"id", "input", "expect"?, "tags"?, "source_trace_id"?}, …]}',
  nested: {
    "cases[]": 'a case is {"id": "refund-over-limit", "input": …any JSON…, "expect"?: …any JSON…, "tags"?: ["refunds"], "source_trace_id"?: "4bf92f35…"}',
  },
};

/**
 * A regression set: the cases a release must still pass. Case ids are unique within a version, so
 * a diff can say which cases were added, removed or changed, and an incident can be closed by
 * naming the version that learned its failing trace (`source_trace_id`).
 */
export const evalsetKind: KindValidator = {
  kind: "evalset",
  validate(content) {
    const parsed = evalsetContent.safeParse(content);
    if (!parsed.success) return { errors: contentErrors(parsed.error, content, EVALSET_SHAPE) };
    const errors: FieldError[] = [];
    const ids = new Set<string>();
    parsed.data.cases.forEach((c, i) => {
      if (c.input === undefined) {
        errors.push({ path: `content.cases[${i}].input`, message: `${EVALSET_SHAPE.nested!["cases[]"]}: "input" is required` });
      }
      if (ids.has(c.id)) errors.push({ path: `content.cases[${i}].id`, message: `duplicate case id ${JSON.stringify(c.id)}` });
      ids.add(c.id);
    });
    return { errors };
  },
};
