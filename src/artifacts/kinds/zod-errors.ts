import type { z } from "zod";
import type { FieldError } from "../../errors.js";

/** zod issues as API field errors, with paths rooted at `base` (e.g. `content.messages[0].role`). */
export function zodFieldErrors(error: z.ZodError, base: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.reduce<string>(
      (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : `${acc}.${String(part)}`),
      base,
    ),
    message: issue.message,
  }));
}
