import path from "node:path";
import type { Config } from "../config.js";
import { FsBlobStore } from "./fs.js";
import type { BlobStore } from "./ports.js";

/**
 * S3 when a bucket is configured, else files under `$PINSET_DATA_DIR/blobs`. The AWS SDK is
 * imported only when S3 is configured: loading it costs a few hundred milliseconds of start-up.
 */
export async function createBlobStore(config: Pick<Config, "s3" | "dataDir">): Promise<BlobStore> {
  if (config.s3) {
    const { createS3Client, S3BlobStore } = await import("./s3.js");
    return new S3BlobStore(createS3Client(config.s3), config.s3.bucket, config.s3.prefix);
  }
  return new FsBlobStore(path.join(config.dataDir, "blobs"));
}
