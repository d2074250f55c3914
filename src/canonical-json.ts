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

export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, "$", out, 0);
  return out.join("");
}

const MAX_DEPTH = 256;

function write(value: unknown, path: string, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === "boolean") {
    out.push(String(value));
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(path, "numbers must be finite");
    out.push(JSON.stringify(value));
  } else if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(path, "strings must be valid Unicode (lone surrogate)");
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, `${path}[${i}]`, out, depth + 1);
    });
    out.push("]");
  } else if (typeof value === "object") {
    // Default string comparison in JS is by UTF-16 code units, which is what RFC 8785 asks.
    const keys = Object.keys(value as object).sort();
    out.push("{");
    keys.forEach((key, i) => {
      if (LONE_SURROGATE.test(key)) throw new CanonicalJsonError(path, "keys must be valid Unicode (lone surrogate)");
      if (i > 0) out.push(",");
      out.push(JSON.stringify(key), ":");
      write((value as Record<string, unknown>)[key], `${path}.${key}`, out, depth + 1);
    });
    out.push("}");
  } else {
    throw new CanonicalJsonError(path, `${typeof value} is not a JSON value`);
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
