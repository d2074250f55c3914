import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/** Token secrets: 32 random bytes, base64url, with a `pst_` prefix so scanners can spot leaks. */
export function generateTokenSecret(): string {
  return `pst_${randomBytes(32).toString("base64url")}`;
}

/**
 * Secrets have 256 bits of entropy, so a plain sha256 is a safe one-way hash (a slow KDF buys
 * nothing against brute force here and would cost every request). The admin token from the
 * environment is hashed the same way.
 */
export function hashTokenSecret(secret: string): string {
  // One-shot hash: no Hash object per request (it runs on every authenticated request).
  return hash("sha256", secret, "hex");
}

export function hashesEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, "hex");
  const bb = Buffer.from(b, "hex");
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
