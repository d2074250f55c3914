import { z } from "zod";
import type { KindValidator } from "./types.js";
import { zodFieldErrors } from "./zod-errors.js";

const modelContent = z.strictObject({
  provider: z.string().min(1).max(128),
  model: z.string().min(1).max(256),
  revision: z.string().min(1).max(256).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

export const modelKind: KindValidator = {
  kind: "model",
  validate(content) {
    const parsed = modelContent.safeParse(content);
    return { errors: parsed.success ? [] : zodFieldErrors(parsed.error, "content") };
  },
};
