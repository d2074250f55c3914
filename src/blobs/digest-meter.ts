import { createHash, type Hash } from "node:crypto";
import { DigestMismatchError, PayloadTooLargeError } from "../core/errors.js";
import type { PutOptions } from "./ports.js";

/**
 * Hashes and counts bytes as they stream past, enforcing the size limit before the bytes are
 * written anywhere, and verifying the expected digest at the end. Every BlobStore uses it, so
 * "only verified bytes become visible" is implemented once.
 */
export class DigestMeter {
  private readonly hash: Hash = createHash("sha256");
  size = 0;

  constructor(private readonly options: PutOptions = {}) {}

  update(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    if (this.options.maxBytes !== undefined && this.size > this.options.maxBytes) {
      throw new PayloadTooLargeError(`The body exceeds the limit of ${this.options.maxBytes} bytes`);
    }
    this.hash.update(chunk);
    this.options.onBytes?.(chunk.byteLength);
  }

  /** The digest of everything seen; throws DigestMismatchError when it is not the expected one. */
  verify(): string {
    const digest = `sha256:${this.hash.digest("hex")}`;
    if (this.options.digest !== undefined && digest !== this.options.digest) {
      throw new DigestMismatchError(this.options.digest, digest);
    }
    return digest;
  }
}

/** Hash a body without storing it (a project proving it holds bytes already stored). */
export async function digestStream(body: AsyncIterable<Uint8Array>, options: PutOptions = {}) {
  const meter = new DigestMeter(options);
  for await (const chunk of body) meter.update(chunk);
  return { digest: meter.verify(), size: meter.size };
}
