import { z } from "zod";
import { nameSchema } from "../core/names.js";
import { BadRequestError, ValidationError, type FieldError } from "../core/errors.js";
import { findUnstorableText } from "./storable-text.js";

function fieldErrors(error: z.ZodError, base: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [base, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

/**
 * Parses `value` or throws 400 validation_failed listing every problem with its path. Text the
 * database cannot store (NUL, lone surrogates) is refused here, for every route at once.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "params" | "headers"): z.infer<S> {
  if (where === "body" && (value === undefined || value === null)) {
    throw new BadRequestError("A JSON body is required (content-type: application/json)", [{ path: "body", message: "missing" }], "validation_failed");
  }
  const unstorable = findUnstorableText(value, where);
  if (unstorable) throw new ValidationError(`The request ${where} is invalid`, [unstorable]);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError(`The request ${where} is invalid`, fieldErrors(parsed.error, where));
  }
  return parsed.data;
}

/** `{ project }` of every route under /projects/:project that reads no other parameter; built once, not per request. */
export const projectParams = z.object({ project: nameSchema });
