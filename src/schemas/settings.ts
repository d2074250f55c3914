import os from "node:os";
import { DEFAULT_SCHEMA_LIMITS, type SchemaLimits } from "./limits.js";

/** The schema limits plus how the worker pool runs (config.ts reads them from PINSET_SCHEMA_*). */
export interface SchemaSettings extends SchemaLimits {
  /** Time budget of one compile or compare job; the worker is terminated after it. */
  timeoutMs: number;
  /** Worker threads (at least 1). */
  workers: number;
  /** Jobs that may wait for a busy worker; one more answers 503. */
  maxQueue: number;
}

/** One worker per core beyond the first (the event loop keeps one), at least 1, at most 4. */
export function defaultSchemaWorkers(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export const DEFAULT_SCHEMA_SETTINGS: Readonly<SchemaSettings> = Object.freeze({
  ...DEFAULT_SCHEMA_LIMITS,
  timeoutMs: 5_000,
  workers: defaultSchemaWorkers(),
  maxQueue: 32,
});
