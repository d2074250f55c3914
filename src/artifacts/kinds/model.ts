import { z } from "zod";
import type { KindValidator } from "./types.js";
import { contentErrors, type ContentShape } from "./shape-errors.js";

const modelContent = z.strictObject({
  provider: z.string().min(1).max(128),
  model: z.string().min(1).max(256),
  revision: z.string().min(1).max(256).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

export const MODEL_SHAPE: ContentShape = {
  root: 'a model is {"provider": "openai", "model": "gpt-4o-mini", "revision"?: "…", "params"?: {"temperature": 0.2, …}}',
};

export const modelKind: KindValidator = {
  kind: "model",
  validate(content) {
    const parsed = modelContent.safeParse(content);
    return { errors: parsed.success ? [] : contentErrors(parsed.error, content, MODEL_SHAPE) };
  },
};
