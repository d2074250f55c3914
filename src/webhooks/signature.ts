import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-pinset-signature";

/**
 * `sha256=<hex HMAC-SHA256 of the raw body>`, the value of `x-pinset-signature`. The body is
 * signed exactly as sent, byte for byte: a receiver must verify the raw bytes before parsing.
 */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Constant-time check of a received signature header, for receivers and tests. */
export function verifySignature(secret: string, body: string | Uint8Array, header: string | null | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(signBody(secret, body), "utf8");
  const given = Buffer.from(header.trim(), "utf8");
  return expected.length === given.length && timingSafeEqual(expected, given);
}
