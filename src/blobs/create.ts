import path from "node:path";
import type { Config } from "../config.js";
import { FsBlobStore } from "./fs.js";
import { createS3Client, S3BlobStore } from "./s3.js";
import type { BlobStore } from "./store.js";

/** S3 when a bucket is configured, else files under `$PINSET_DATA_DIR/blobs`. */
export function createBlobStore(config: Pick<Config, "s3" | "dataDir">): BlobStore {
  if (config.s3) return new S3BlobStore(createS3Client(config.s3), config.s3.bucket, config.s3.prefix);
  return new FsBlobStore(path.join(config.dataDir, "blobs"));
}
