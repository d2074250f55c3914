import type { FieldError } from "../errors.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function problemWith(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain the NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (it contains a lone surrogate)";
  return undefined;
}

/**
 * The first string (value or object key) in `value` that Postgres cannot store: `text` and
 * `jsonb` refuse U+0000, and `jsonb` refuses lone surrogates, with an error that would
 * otherwise surface as a 500 — or, for `text`, a surrogate silently replaced. Iterative, so
 * any nesting depth the JSON parser accepted is walked without growing the stack.
 */
export function findUnstorableText(value: unknown, base: string): FieldError | undefined {
  const stack: Array<[unknown, string]> = [[value, base]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === "string") {
      const message = problemWith(node);
      if (message) return { path, message };
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}.${i}`]);
    } else if (node !== null && typeof node === "object") {
      for (const [key, child] of Object.entries(node)) {
        const message = problemWith(key);
        if (message) return { path: `${path}.${key.replace(/[\u0000\uD800-\uDFFF]/g, "\uFFFD")}`, message: `keys ${message}` };
        stack.push([child, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}
