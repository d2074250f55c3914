import { z } from "zod";
import type { FieldError } from "../../core/errors.js";
import { refuseTerminalUnsafe } from "./terminal-safe.js";
import type { KindValidator, SchemaReference } from "./types.js";
import { contentErrors, type ContentShape } from "./shape-errors.js";

const toolsContent = z.strictObject({
  tools: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "must be 1-128 letters, digits, _ . or -"),
        description: z.string().max(100_000),
        input_schema: z.unknown(),
        permissions: z.array(z.string().min(1).max(256).superRefine(refuseTerminalUnsafe)).max(256).optional(),
      }),
    )
    .max(1000),
});

export const TOOLS_SHAPE: ContentShape = {
  root: 'a tools manifest is {"tools": [{"name", "description", "input_schema", "permissions"?}, …]}',
  nested: {
    "tools[]": 'a tool is {"name": "lookup_order", "description": "…", "input_schema": {…JSON Schema…}, "permissions"?: ["orders:read"]}',
  },
};

export const toolsKind: KindValidator = {
  kind: "tools",
  validate(content) {
    const parsed = toolsContent.safeParse(content);
    if (!parsed.success) return { errors: contentErrors(parsed.error, content, TOOLS_SHAPE) };
    const errors: FieldError[] = [];
    const schemas: SchemaReference[] = [];
    const names = new Set<string>();
    parsed.data.tools.forEach((tool, i) => {
      if (names.has(tool.name)) errors.push({ path: `content.tools[${i}].name`, message: `duplicate tool name ${tool.name}` });
      names.add(tool.name);
      if (tool.input_schema === undefined) {
        errors.push({ path: `content.tools[${i}].input_schema`, message: `${TOOLS_SHAPE.nested!["tools[]"]}: "input_schema" is required` });
      } else {
        schemas.push({ path: `content.tools[${i}].input_schema`, schema: tool.input_schema });
      }
    });
    return { errors, schemas };
  },
};
