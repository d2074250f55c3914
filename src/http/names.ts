import { z } from "zod";

/** Projects, artifacts, environments and slots share one name rule (API.md). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, "must match ^[a-z0-9][a-z0-9._-]{0,127}$ (lowercase letters, digits, . _ -)");

export const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be sha256: followed by 64 lowercase hex digits");
