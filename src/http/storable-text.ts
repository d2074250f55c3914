import type { FieldError } from "../errors.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function problemWith(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain the NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (it contains a lone surrogate)";
  return undefined;
}

/** A node's place as a chain to the root; the dotted path is spelled out only for a problem. */
interface Where {
  parent: Where | undefined;
  key: string | number;
}

function pathOf(base: string, where: Where | undefined): string {
  const keys: Array<string | number> = [];
  for (let w = where; w; w = w.parent) keys.push(w.key);
  return keys.reverse().reduce<string>((path, key) => `${path}.${key}`, base);
}

/** Cheap first test: only text with a NUL or a surrogate needs a closer look. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

function textProblem(text: string): string | undefined {
  return SUSPECT.test(text) ? problemWith(text) : undefined;
}

/**
 * The first string (value or object key) in `value` that Postgres cannot store: `text` and
 * `jsonb` refuse U+0000, and `jsonb` refuses lone surrogates, with an error that would
 * otherwise surface as a 500 — or, for `text`, a surrogate silently replaced. Iterative, so
 * any nesting depth the JSON parser accepted is walked without growing the stack. It runs over
 * every request body on the event loop, so strings are checked where they are met, only
 * objects and arrays are queued, and no path string is built unless something is found.
 */
export function findUnstorableText(value: unknown, base: string): FieldError | undefined {
  if (typeof value === "string") {
    const message = textProblem(value);
    return message ? { path: base, message } : undefined;
  }
  const stack: Array<{ node: unknown; where: Where | undefined }> = [{ node: value, where: undefined }];
  while (stack.length > 0) {
    const { node, where } = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === "string") {
          const message = textProblem(item);
          if (message) return { path: pathOf(base, { parent: where, key: i }), message };
        }
      }
      for (let i = node.length - 1; i >= 0; i--) {
        const item: unknown = node[i];
        if (item !== null && typeof item === "object") stack.push({ node: item, where: { parent: where, key: i } });
      }
    } else if (node !== null && typeof node === "object") {
      const keys = Object.keys(node);
      for (const key of keys) {
        const message = textProblem(key);
        if (message) return { path: `${pathOf(base, where)}.${key.replace(/[\u0000\uD800-\uDFFF]/g, "\uFFFD")}`, message: `keys ${message}` };
        const child: unknown = (node as Record<string, unknown>)[key];
        if (typeof child === "string") {
          const problem = textProblem(child);
          if (problem) return { path: pathOf(base, { parent: where, key }), message: problem };
        }
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        const child: unknown = (node as Record<string, unknown>)[keys[i]!];
        if (child !== null && typeof child === "object") stack.push({ node: child, where: { parent: where, key: keys[i]! } });
      }
    }
  }
  return undefined;
}
