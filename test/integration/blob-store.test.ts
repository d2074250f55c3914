import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { FsBlobStore } from "../../src/blobs/fs.js";
import { createS3Client, S3BlobStore } from "../../src/blobs/s3.js";
import { blobStoreContract } from "../contract/blob-store.js";
import { startS3 } from "../support/s3.js";

let fsRoot: string | undefined;

blobStoreContract("filesystem", async () => {
  fsRoot = await mkdtemp(path.join(tmpdir(), "pinset-fs-store-"));
  return { store: new FsBlobStore(fsRoot), close: async () => {} };
});

blobStoreContract("S3 (s3rver)", async () => {
  const s3 = await startS3();
  return { store: new S3BlobStore(createS3Client(s3.config), s3.config.bucket), close: () => s3.close() };
});

it("leaves no temporary files behind after failed filesystem writes", async () => {
  expect(fsRoot).toBeDefined();
  expect(await readdir(path.join(fsRoot!, "tmp"))).toEqual([]);
});

afterAll(async () => {
  if (fsRoot) await rm(fsRoot, { recursive: true, force: true });
});
