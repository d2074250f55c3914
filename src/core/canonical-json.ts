import { createHash } from "node:crypto";

/**
 * RFC 8785 JSON Canonicalization Scheme: object members sorted by their UTF-16 code units,
 * no insignificant white space, numbers in ECMAScript shortest form (what JSON.stringify
 * already does for finite numbers), strings escaped as JSON.stringify escapes them.
 * I-JSON forbids lone surrogates and non-finite numbers, so those are refused rather than
 * given a digest that another implementation could not reproduce.
 */
export class CanonicalJsonError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "CanonicalJsonError";
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Cheap first test: only a string with a surrogate at all needs the lone-surrogate search. */
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

function hasLoneSurrogate(text: string): boolean {
  return ANY_SURROGATE.test(text) && LONE_SURROGATE.test(text);
}

export function canonicalJson(value: unknown): string {
  return write(value, [], 0);
}

const MAX_DEPTH = 256;

/**
 * `keys` is the path to `value` (pushed and popped around each descent): it is spelled out as
 * `$.a[0].b` only for an error, so canonicalising a large document builds no path strings and
 * allocates nothing per node (this runs on the event loop for every publish).
 */
function pathOf(keys: ReadonlyArray<string | number>): string {
  return keys.reduce<string>((path, key) => (typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`), "$");
}

function write(value: unknown, keys: Array<string | number>, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(pathOf(keys), `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(pathOf(keys), "numbers must be finite");
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    if (hasLoneSurrogate(value)) throw new CanonicalJsonError(pathOf(keys), "strings must be valid Unicode (lone surrogate)");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      keys.push(i);
      out += (i > 0 ? "," : "") + write(value[i], keys, depth + 1);
      keys.pop();
    }
    return `${out}]`;
  }
  if (typeof value === "object") {
    // Default string comparison in JS is by UTF-16 code units, which is what RFC 8785 asks.
    const names = Object.keys(value as object).sort();
    let out = "{";
    for (let i = 0; i < names.length; i++) {
      const key = names[i]!;
      if (hasLoneSurrogate(key)) throw new CanonicalJsonError(pathOf(keys), "keys must be valid Unicode (lone surrogate)");
      keys.push(key);
      out += `${i > 0 ? "," : ""}${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key], keys, depth + 1)}`;
      keys.pop();
    }
    return `${out}}`;
  }
  throw new CanonicalJsonError(pathOf(keys), `${typeof value} is not a JSON value`);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `sha256:<hex>` of the canonical JSON of `value`, with the canonical text and its byte size. */
export function digestOf(value: unknown): { digest: string; canonical: string; size: number } {
  const canonical = canonicalJson(value);
  return { digest: `sha256:${sha256Hex(canonical)}`, canonical, size: Buffer.byteLength(canonical) };
}
