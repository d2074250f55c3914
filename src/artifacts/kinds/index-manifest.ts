import { z } from "zod";
import type { FieldError } from "../../core/errors.js";
import { refuseTerminalUnsafe } from "./terminal-safe.js";
import type { KindValidator } from "./types.js";
import { contentErrors, type ContentShape } from "./shape-errors.js";

/** Relative, `/`-separated, no empty, `.` or `..` segments: a path that cannot escape its root. */
export const INDEX_PATH = /^(?!\/)(?!.*\/\/)(?!.*\/$)(?!(?:.*\/)?\.\.?(?:\/|$))[^\0\\]{1,1024}$/;

const indexContent = z.strictObject({
  files: z
    .array(
      z.strictObject({
        path: z
          .string()
          .regex(INDEX_PATH, "must be a relative path with / separators, no . or .. segments")
          .superRefine(refuseTerminalUnsafe),
        digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256:<64 lowercase hex>"),
        size: z.number().int().nonnegative(),
      }),
    )
    .max(100_000),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const INDEX_SHAPE: ContentShape = {
  root: 'an index is {"files": [{"path", "digest", "size"}, …], "metadata"?: {…}}',
  nested: { "files[]": 'an index file is {"path": "docs/a.md", "digest": "sha256:<64 hex>", "size": <bytes>}' },
};

export const indexKind: KindValidator = {
  kind: "index",
  validate(content) {
    const parsed = indexContent.safeParse(content);
    if (!parsed.success) return { errors: contentErrors(parsed.error, content, INDEX_SHAPE) };
    const errors: FieldError[] = [];
    const seen = new Set<string>();
    parsed.data.files.forEach((file, i) => {
      if (seen.has(file.path)) errors.push({ path: `content.files[${i}].path`, message: `duplicate path ${file.path}` });
      seen.add(file.path);
    });
    return { errors, blobs: parsed.data.files };
  },
};
