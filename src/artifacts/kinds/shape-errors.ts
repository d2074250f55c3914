import type { z } from "zod";
import type { FieldError } from "../../core/errors.js";

/**
 * What a kind's content looks like, in words a publisher can act on. Validation errors name it,
 * so `{"type": "object"}` posted as a contract answers
 * `content.type: a contract is {"schema": {…}}: "type" is not one of its fields`.
 */
export interface ContentShape {
  /** The whole content, e.g. `a config is {"values": {…}}`. */
  root: string;
  /** Objects inside it, by path with array indexes written `[]` (e.g. `files[]`). */
  nested?: Record<string, string>;
}

type Path = ReadonlyArray<PropertyKey>;

/** `content.files[0].digest` */
export function fieldPath(path: Path, base = "content"): string {
  return path.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : `${acc}.${String(part)}`), base);
}

/** The shape described for the object at `path`, if any. */
export function shapeAt(shape: ContentShape, path: Path): string | undefined {
  if (path.length === 0) return shape.root;
  const key = path.map((part) => (typeof part === "number" ? "[]" : `.${String(part)}`)).join("").replace(/^\./, "");
  return shape.nested?.[key];
}

/** A JSON value in a few words: "a string", "an array", "null". */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value === undefined) return "nothing";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  object: "an object",
  record: "an object",
  array: "an array",
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
};

function valueAt(content: unknown, path: Path): unknown {
  let node = content;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/** The zod issues of a kind's content as field errors that say what was expected. */
export function contentErrors(error: z.ZodError, content: unknown, shape: ContentShape): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    if (issue.code === "unrecognized_keys") {
      const hint = shapeAt(shape, issue.path);
      return issue.keys.map((key) => ({ path: fieldPath([...issue.path, key]), message: unknownField(hint, key) }));
    }
    if (issue.code === "invalid_type") {
      const value = valueAt(content, issue.path);
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (value === undefined && issue.path.length > 0) {
        const key = String(issue.path[issue.path.length - 1]);
        const hint = shapeAt(shape, issue.path.slice(0, -1));
        return [{ path: fieldPath(issue.path), message: hint ? `${hint}: "${key}" is required` : `is required (${expected})` }];
      }
      const hint = shapeAt(shape, issue.path);
      const got = describeValue(value);
      return [{ path: fieldPath(issue.path), message: hint ? `${hint}, not ${got}` : `must be ${expected}, not ${got}` }];
    }
    return [{ path: fieldPath(issue.path), message: issue.message }];
  });
}

export function unknownField(hint: string | undefined, key: string): string {
  return hint ? `${hint}: "${key}" is not one of its fields` : `"${key}" is not a field here`;
}
