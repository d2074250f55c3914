import { z } from "zod";
import type { KindValidator } from "./types.js";
import { zodFieldErrors } from "./zod-errors.js";

const configContent = z.strictObject({ values: z.record(z.string(), z.unknown()) });

export const configKind: KindValidator = {
  kind: "config",
  validate(content) {
    const parsed = configContent.safeParse(content);
    return { errors: parsed.success ? [] : zodFieldErrors(parsed.error, "content") };
  },
};
