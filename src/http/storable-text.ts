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
  key: string;
}

function pathOf(base: string, where: Where | undefined): string {
  const keys: string[] = [];
  for (let w = where; w; w = w.parent) keys.push(w.key);
  return keys.reverse().reduce((path, key) => `${path}.${key}`, base);
}

/** Cheap first test: only text with a NUL or a surrogate needs a closer look. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

/**
 * The first string (value or object key) in `value` that Postgres cannot store: `text` and
 * `jsonb` refuse U+0000, and `jsonb` refuses lone surrogates, with an error that would
 * otherwise surface as a 500 — or, for `text`, a surrogate silently replaced. Iterative, so
 * any nesting depth the JSON parser accepted is walked without growing the stack; it builds no
 * path strings unless it finds something, since it walks every request body on the event loop.
 */
export function findUnstorableText(value: unknown, base: string): FieldError | undefined {
  const stack: Array<[unknown, Where | undefined]> = [[value, undefined]];
  while (stack.length > 0) {
    const [node, where] = stack.pop()!;
    if (typeof node === "string") {
      const message = SUSPECT.test(node) ? problemWith(node) : undefined;
      if (message) return { path: pathOf(base, where), message };
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        const item: unknown = node[i];
        if (item !== null && (typeof item === "object" || typeof item === "string")) stack.push([item, { parent: where, key: String(i) }]);
      }
    } else if (node !== null && typeof node === "object") {
      for (const key of Object.keys(node)) {
        const message = SUSPECT.test(key) ? problemWith(key) : undefined;
        if (message) return { path: `${pathOf(base, where)}.${key.replace(/[\u0000\uD800-\uDFFF]/g, "\uFFFD")}`, message: `keys ${message}` };
        const child: unknown = (node as Record<string, unknown>)[key];
        if (child !== null && (typeof child === "object" || typeof child === "string")) stack.push([child, { parent: where, key }]);
      }
    }
  }
  return undefined;
}
