import { z } from "zod";

/** Projects, artifacts, environments and slots share one name rule (API.md). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, "must match ^[a-z0-9][a-z0-9._-]{0,127}$ (lowercase letters, digits, . _ -)");

export const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256: followed by 64 lowercase hex digits");

/**
 * The name rule of `nameSchema` as a plain test, for hot paths: a value that passes needs no
 * parsing; one that fails goes through `parseInput(nameSchema…)` for the field error.
 */
export function isName(value: unknown): value is string {
  return typeof value === "string" && NAME_PATTERN.test(value);
}
