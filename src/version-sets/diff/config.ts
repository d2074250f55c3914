/**
 * The `config` differ, and the JSON-value helpers every differ in this folder shares (model
 * params, index metadata, tool permissions and contract enums all compare plain JSON values).
 *
 * Artifact content arrives from JSON bodies of up to several MiB, so nesting depth is not
 * bounded by anything we control: every walk here uses an explicit stack, never recursion.
 *
 * Dotted keys: a nested object contributes one key per leaf, joined with "."; a key that is
 * empty or contains ".", "[", "]" or '"' is written as a bracketed JSON string instead
 * (`a["b.c"]`), so two different leaves can never print as the same key. Arrays, scalars and
 * empty objects are leaves, compared as whole values.
 */
import { compareCodeUnits } from "../../core/compare.js";

export interface KeyChange {
  key: string;
  from: unknown;
  to: unknown;
}

export interface ConfigDiff {
  added: string[];
  removed: string[];
  changed: KeyChange[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Code-unit order: deterministic and locale-independent (the order RFC 8785 sorts keys in). */
export function joinKey(prefix: string, key: string): string {
  if (key === "" || /[.[\]"]/.test(key)) return `${prefix}[${JSON.stringify(key)}]`;
  return prefix === "" ? key : `${prefix}.${key}`;
}

/**
 * Leaves of `value` keyed by dotted path under `prefix`. The root object is always opened (an
 * empty root has no leaves); below it an empty object is a leaf, so `{}` → `{"a": {}}` shows.
 */
export function flattenJson(value: unknown, prefix = ""): Map<string, unknown> {
  const leaves = new Map<string, unknown>();
  const stack: Array<[string, unknown, boolean]> = [[prefix, value, true]];
  while (stack.length > 0) {
    const [key, current, root] = stack.pop()!;
    if (isPlainObject(current) && (root || Object.keys(current).length > 0)) {
      for (const [child, inner] of Object.entries(current)) stack.push([joinKey(key, child), inner, false]);
    } else {
      leaves.set(key, current);
    }
  }
  return leaves;
}

/** Structural equality of JSON values; object key order is irrelevant. */
export function jsonEqual(left: unknown, right: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[left, right]];
  while (stack.length > 0) {
    const [a, b] = stack.pop()!;
    if (a === b) continue;
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) stack.push([a[i], b[i]]);
      continue;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = Object.keys(ao);
    if (keys.length !== Object.keys(bo).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(bo, key)) return false;
      stack.push([ao[key], bo[key]]);
    }
  }
  return true;
}

export interface FlatDiff {
  added: KeyChange[];
  removed: KeyChange[];
  changed: KeyChange[];
}

/** Leaf-by-leaf comparison of two JSON values; every list is sorted by key. */
export function diffFlattened(from: unknown, to: unknown): FlatDiff {
  const before = flattenJson(from);
  const after = flattenJson(to);
  const result: FlatDiff = { added: [], removed: [], changed: [] };
  for (const [key, value] of before) {
    if (!after.has(key)) result.removed.push({ key, from: value, to: null });
    else if (!jsonEqual(value, after.get(key))) result.changed.push({ key, from: value, to: after.get(key) });
  }
  for (const [key, value] of after) {
    if (!before.has(key)) result.added.push({ key, from: null, to: value });
  }
  for (const list of [result.added, result.removed, result.changed]) list.sort((x, y) => compareCodeUnits(x.key, y.key));
  return result;
}

/** Content `{"values": {...}}`; a missing or non-object `values` counts as `{}`. */
export function diffConfig(from: unknown, to: unknown): ConfigDiff {
  const values = (content: unknown): Record<string, unknown> => {
    const inner = isPlainObject(content) ? content.values : undefined;
    return isPlainObject(inner) ? inner : {};
  };
  const flat = diffFlattened(values(from), values(to));
  return {
    added: flat.added.map((c) => c.key),
    removed: flat.removed.map((c) => c.key),
    changed: flat.changed,
  };
}
