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
  const out: string[] = [];
  write(value, undefined, out, 0);
  return out.join("");
}

const MAX_DEPTH = 256;

/**
 * Where a value sits, as a chain to the root: the `$.a[0].b` path is only spelled out for an
 * error, so canonicalising a large document builds no path strings (it runs on the event loop).
 */
interface Where {
  parent: Where | undefined;
  key: string | number;
}

function pathOf(where: Where | undefined): string {
  const keys: Array<string | number> = [];
  for (let w = where; w; w = w.parent) keys.push(w.key);
  return keys.reverse().reduce<string>((path, key) => (typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`), "$");
}

function write(value: unknown, where: Where | undefined, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(pathOf(where), `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === "boolean") {
    out.push(String(value));
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(pathOf(where), "numbers must be finite");
    out.push(JSON.stringify(value));
  } else if (typeof value === "string") {
    if (hasLoneSurrogate(value)) throw new CanonicalJsonError(pathOf(where), "strings must be valid Unicode (lone surrogate)");
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      write(value[i], { parent: where, key: i }, out, depth + 1);
    }
    out.push("]");
  } else if (typeof value === "object") {
    // Default string comparison in JS is by UTF-16 code units, which is what RFC 8785 asks.
    const keys = Object.keys(value as object).sort();
    out.push("{");
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (hasLoneSurrogate(key)) throw new CanonicalJsonError(pathOf(where), "keys must be valid Unicode (lone surrogate)");
      if (i > 0) out.push(",");
      out.push(JSON.stringify(key), ":");
      write((value as Record<string, unknown>)[key], { parent: where, key }, out, depth + 1);
    }
    out.push("}");
  } else {
    throw new CanonicalJsonError(pathOf(where), `${typeof value} is not a JSON value`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `sha256:<hex>` of the canonical JSON of `value`, with the canonical text and its byte size. */
export function digestOf(value: unknown): { digest: string; canonical: string; size: number } {
  const canonical = canonicalJson(value);
  return { digest: `sha256:${sha256Hex(canonical)}`, canonical, size: Buffer.byteLength(canonical) };
}
