import type { FieldError } from "../core/errors.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function problemWith(text: string): string | undefined {
  if (text.includes("\u0000")) return "must not contain the NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (it contains a lone surrogate)";
  return undefined;
}

/** Cheap first test: only text with a NUL or a surrogate needs a closer look. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

function textProblem(text: string): string | undefined {
  return SUSPECT.test(text) ? problemWith(text) : undefined;
}

/**
 * Whether any string or key in `value` is unstorable. The fast pass over every request body
 * (it runs on the event loop): a stack of values, nothing allocated per node, no paths.
 */
function anyUnstorable(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "string") {
      if (textProblem(node)) return true;
    } else if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) stack.push(node[i]);
    } else if (node !== null && typeof node === "object") {
      for (const key in node) {
        if (!Object.hasOwn(node, key)) continue;
        if (textProblem(key)) return true;
        stack.push((node as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/** The first unstorable string with its path: the slow pass, run only when there is one. */
function locate(value: unknown, base: string): FieldError | undefined {
  const stack: Array<[unknown, string]> = [[value, base]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === "string") {
      const message = textProblem(node);
      if (message) return { path, message };
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}.${i}`]);
    } else if (node !== null && typeof node === "object") {
      for (const [key, child] of Object.entries(node)) {
        const message = textProblem(key);
        if (message) return { path: `${path}.${key.replace(/[\u0000\uD800-\uDFFF]/g, "\uFFFD")}`, message: `keys ${message}` };
        stack.push([child, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}

const ESCAPE = Buffer.from("\\u");
const [ZERO, UPPER_D, LOWER_D] = [0x30, 0x44, 0x64];

/**
 * Whether a JSON text in UTF-8 may decode to an unstorable string. Raw control characters are
 * not valid JSON and a decoded UTF-8 sequence is never a lone surrogate (an encoded surrogate
 * decodes to U+FFFD), so NUL and lone surrogates can only come from the escapes `\u0000` and
 * `\uD…`. Conservative: `\\u0000` (an escaped backslash) or a valid `\uD83D\uDE00` pair counts.
 */
export function utf8JsonMayHoldUnstorable(raw: Buffer): boolean {
  for (let at = raw.indexOf(ESCAPE); at !== -1; at = raw.indexOf(ESCAPE, at + 2)) {
    const digit = raw[at + 2];
    if (digit === UPPER_D || digit === LOWER_D) return true;
    if (digit === ZERO && raw[at + 3] === ZERO && raw[at + 4] === ZERO && raw[at + 5] === ZERO) return true;
  }
  return false;
}

/** Parsed bodies whose raw text could not hold unstorable text (utf8JsonMayHoldUnstorable). */
const vouched = new WeakSet<object>();

/**
 * Marks a body parsed from a JSON text that utf8JsonMayHoldUnstorable cleared: findUnstorableText
 * then skips the walk over it (on a multi-megabyte body, tens of milliseconds of event loop).
 */
export function vouchStorable(body: object): void {
  vouched.add(body);
}

/**
 * The first string (value or object key) in `value` that Postgres cannot store: `text` and
 * `jsonb` refuse U+0000, and `jsonb` refuses lone surrogates, with an error that would
 * otherwise surface as a 500 — or, for `text`, a surrogate silently replaced. Iterative, so
 * any nesting depth the JSON parser accepted is walked without growing the stack; paths are
 * built only in a second pass when something was found.
 */
export function findUnstorableText(value: unknown, base: string): FieldError | undefined {
  if (typeof value === "object" && value !== null && vouched.has(value)) return undefined;
  return anyUnstorable(value) ? locate(value, base) : undefined;
}
