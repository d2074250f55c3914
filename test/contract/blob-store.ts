import { createHash, randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlobStore } from "../../src/blobs/ports.js";
import { DigestMismatchError, PayloadTooLargeError } from "../../src/core/errors.js";

const digestOf = (data: Uint8Array) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

async function readAll(stream: Readable | undefined): Promise<Buffer> {
  if (!stream) throw new Error("expected a stream");
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function* chunked(data: Buffer, size = 64 * 1024): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function* failingAfter(data: Buffer, bytes: number): AsyncIterable<Uint8Array> {
  yield data.subarray(0, bytes);
  throw new Error("client went away");
}

/**
 * The behaviour every BlobStore must have, run against memory, the filesystem and S3 (s3rver).
 * `open` builds a fresh store; `close` tears it down.
 */
export function blobStoreContract(name: string, open: () => Promise<{ store: BlobStore; close(): Promise<void> }>) {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => close?.());

    it("stores bytes, reads them back identical, and reports their size", async () => {
      const data = randomBytes(300_000);
      const result = await store.put("blobs/sha256/aa/roundtrip", chunked(data), { digest: digestOf(data) });
      expect(result).toEqual({ digest: digestOf(data), size: data.length });
      expect(digestOf(await readAll(await store.get("blobs/sha256/aa/roundtrip")))).toBe(digestOf(data));
      expect(await store.head("blobs/sha256/aa/roundtrip")).toEqual({ size: data.length });
    });

    it("stores a multi-part body (> 8 MiB) intact", async () => {
      const data = randomBytes(19 * 1024 * 1024 + 123);
      await store.put("blobs/sha256/bb/large", chunked(data, 1024 * 1024), { digest: digestOf(data) });
      expect(digestOf(await readAll(await store.get("blobs/sha256/bb/large")))).toBe(digestOf(data));
    });

    it("stores an empty body", async () => {
      const empty = Buffer.alloc(0);
      await store.put("blobs/sha256/cc/empty", chunked(empty), { digest: digestOf(empty) });
      expect(await store.head("blobs/sha256/cc/empty")).toEqual({ size: 0 });
    });

    it("serves inclusive byte ranges", async () => {
      const data = Buffer.from("0123456789abcdef");
      await store.put("blobs/sha256/dd/range", chunked(data), {});
      expect((await readAll(await store.get("blobs/sha256/dd/range", { start: 3, end: 6 }))).toString()).toBe("3456");
      expect((await readAll(await store.get("blobs/sha256/dd/range", { start: 15, end: 15 }))).toString()).toBe("f");
    });

    it("keeps nothing when the digest does not match", async () => {
      const data = randomBytes(10_000);
      await expect(store.put("blobs/sha256/ee/mismatch", chunked(data), { digest: digestOf(Buffer.from("other")) })).rejects.toBeInstanceOf(DigestMismatchError);
      expect(await store.head("blobs/sha256/ee/mismatch")).toBeUndefined();
      expect(await store.get("blobs/sha256/ee/mismatch")).toBeUndefined();
    });

    it("keeps nothing when a multi-part body does not match", async () => {
      const data = randomBytes(17 * 1024 * 1024);
      await expect(store.put("blobs/sha256/ee/mismatch-large", chunked(data, 1024 * 1024), { digest: digestOf(Buffer.from("x")) })).rejects.toBeInstanceOf(DigestMismatchError);
      expect(await store.head("blobs/sha256/ee/mismatch-large")).toBeUndefined();
    });

    it("refuses a body over the limit and keeps nothing", async () => {
      const data = randomBytes(9 * 1024 * 1024);
      await expect(store.put("blobs/sha256/ff/big", chunked(data), { maxBytes: 8 * 1024 * 1024 })).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await store.head("blobs/sha256/ff/big")).toBeUndefined();
    });

    it("keeps nothing when the body stream fails midway", async () => {
      const data = randomBytes(12 * 1024 * 1024);
      await expect(store.put("blobs/sha256/ab/aborted", failingAfter(data, 10 * 1024 * 1024), {})).rejects.toThrow("client went away");
      expect(await store.head("blobs/sha256/ab/aborted")).toBeUndefined();
    });

    it("does not overwrite good bytes with a failed write of the same key", async () => {
      const data = randomBytes(5000);
      await store.put("blobs/sha256/ac/keep", chunked(data), { digest: digestOf(data) });
      await expect(store.put("blobs/sha256/ac/keep", chunked(randomBytes(5000)), { digest: digestOf(data) })).rejects.toBeInstanceOf(DigestMismatchError);
      expect(digestOf(await readAll(await store.get("blobs/sha256/ac/keep")))).toBe(digestOf(data));
    });

    it("takes two concurrent writes of the same content", async () => {
      const data = randomBytes(2 * 1024 * 1024);
      const results = await Promise.all([
        store.put("blobs/sha256/ad/twice", chunked(data), { digest: digestOf(data) }),
        store.put("blobs/sha256/ad/twice", chunked(data), { digest: digestOf(data) }),
      ]);
      expect(results.map((r) => r.digest)).toEqual([digestOf(data), digestOf(data)]);
      expect(digestOf(await readAll(await store.get("blobs/sha256/ad/twice")))).toBe(digestOf(data));
    });

    it("answers undefined for a missing key and deletes", async () => {
      expect(await store.get("blobs/sha256/00/missing")).toBeUndefined();
      expect(await store.head("blobs/sha256/00/missing")).toBeUndefined();
      await store.put("blobs/sha256/ae/delete-me", chunked(Buffer.from("x")), {});
      await store.delete("blobs/sha256/ae/delete-me");
      expect(await store.head("blobs/sha256/ae/delete-me")).toBeUndefined();
    });

    it("refuses keys that could escape the store", async () => {
      await expect(store.put("../outside", chunked(Buffer.from("x")), {})).rejects.toThrow(/unsafe/);
      await expect(store.get("/etc/passwd")).rejects.toThrow(/unsafe/);
    });

    it("answers its readiness check", async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}
