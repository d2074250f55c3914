import { z } from "zod";
import type { KindValidator } from "./types.js";
import { contentErrors, type ContentShape } from "./shape-errors.js";

const configContent = z.strictObject({ values: z.record(z.string(), z.unknown()) });

export const CONFIG_SHAPE: ContentShape = { root: 'a config is {"values": {…any JSON values…}}' };

export const configKind: KindValidator = {
  kind: "config",
  validate(content) {
    const parsed = configContent.safeParse(content);
    return { errors: parsed.success ? [] : contentErrors(parsed.error, content, CONFIG_SHAPE) };
  },
};
