import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signBody, verifySignature } from "../../src/webhooks/signature.js";

/** HMAC-SHA256 from its definition (RFC 2104) over plain SHA-256, independent of createHmac. */
function referenceHmac(key: Uint8Array, message: Uint8Array): string {
  const block = 64;
  let k = Buffer.from(key);
  if (k.length > block) k = createHash("sha256").update(k).digest();
  const padded = Buffer.concat([k, Buffer.alloc(block - k.length)]);
  const ipad = Buffer.from(padded.map((b) => b ^ 0x36));
  const opad = Buffer.from(padded.map((b) => b ^ 0x5c));
  const inner = createHash("sha256").update(ipad).update(message).digest();
  return createHash("sha256").update(opad).update(inner).digest("hex");
}

describe("webhook signatures", () => {
  it("matches the RFC 4231 test vector (case 2)", () => {
    expect(signBody("Jefe", "what do ya want for nothing?")).toBe("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("is sha256= plus the hex HMAC of the raw UTF-8 body, for any secret and body", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16, maxLength: 256 }), fc.string({ maxLength: 2000 }), (secret, body) => {
        const expected = `sha256=${referenceHmac(Buffer.from(secret, "utf8"), Buffer.from(body, "utf8"))}`;
        expect(signBody(secret, body)).toBe(expected);
        expect(signBody(secret, Buffer.from(body, "utf8"))).toBe(expected);
      }),
    );
  });

  it("verifies the right signature and refuses any other", () => {
    const body = JSON.stringify({ event: "artifact.published", project: "demo", at: "2025-01-01T00:00:00.000Z", data: {} });
    const header = signBody("s3cret-s3cret-s3cret", body);
    expect(verifySignature("s3cret-s3cret-s3cret", body, header)).toBe(true);
    expect(verifySignature("another-secret-000", body, header)).toBe(false);
    expect(verifySignature("s3cret-s3cret-s3cret", `${body} `, header)).toBe(false);
    expect(verifySignature("s3cret-s3cret-s3cret", body, header.replace("sha256=", ""))).toBe(false);
    expect(verifySignature("s3cret-s3cret-s3cret", body, undefined)).toBe(false);
  });
});
