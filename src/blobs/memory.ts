import { Readable } from "node:stream";
import { DigestMeter } from "./digest-meter.js";
import { assertSafeKey } from "./keys.js";
import type { BlobStore, PutOptions, PutResult } from "./ports.js";
import type { ByteRange } from "../core/byte-range.js";

/** For unit tests only: holds objects in a Map. Same all-or-nothing rule as the real stores. */
export class MemoryBlobStore implements BlobStore {
  readonly kind = "memory" as const;
  readonly objects = new Map<string, Buffer>();

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    assertSafeKey(key);
    const meter = new DigestMeter(options);
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      meter.update(chunk);
      chunks.push(Buffer.from(chunk));
    }
    const digest = meter.verify();
    this.objects.set(key, Buffer.concat(chunks));
    return { digest, size: meter.size };
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    assertSafeKey(key);
    const data = this.objects.get(key);
    if (!data) return undefined;
    return Readable.from([range ? data.subarray(range.start, range.end + 1) : data]);
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    assertSafeKey(key);
    const data = this.objects.get(key);
    return data ? { size: data.byteLength } : undefined;
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async check(): Promise<void> {}
}
