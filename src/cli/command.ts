import type { CommandContext } from "./context.js";
import { UsageError } from "./errors.js";

export interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** Shown in help: `--file <path>`. */
  value?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandInput {
  /** Positionals by the names in `CommandSpec.args`. */
  args: Record<string, string | undefined>;
  values: OptionValues;
}

export interface CommandSpec {
  /** The words that select it: `project create`, `deploy`. */
  name: string;
  summary: string;
  /** Positional arguments; a trailing `?` marks an optional one. */
  args: string[];
  options?: Record<string, OptionSpec>;
  description?: string;
  examples?: string[];
  run(ctx: CommandContext, input: CommandInput): Promise<void>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

export function requiredArg(input: CommandInput, name: string): string {
  const value = input.args[name];
  if (value === undefined) throw new UsageError(`missing <${name}>`);
  return value;
}

/** `k=v` pairs from repeated options (`--annotation owner=search`). */
export function keyValues(pairs: string[], option: string, command: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${option} expects key=value, got "${pair}"`, command);
    const key = pair.slice(0, eq);
    if (key in result) throw new UsageError(`--${option} ${key} is given twice`, command);
    result[key] = pair.slice(eq + 1);
  }
  return result;
}

export function integerOption(values: OptionValues, name: string, command: string, range: { min: number; max?: number }): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    const bounds = range.max !== undefined ? `${range.min}–${range.max}` : `≥ ${range.min}`;
    throw new UsageError(`--${name} expects a whole number ${bounds}, got "${raw}"`, command);
  }
  return n;
}
