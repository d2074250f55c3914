import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import type { S3Config } from "../../src/config.js";

/**
 * A real S3 wire-protocol server (s3rver) on a random loopback port, with one bucket.
 * The SDK's default checksums corrupt streamed bodies on s3rver, hence `when_required`.
 */
export async function startS3(options: { bucket?: string } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-s3rver-"));
  const bucket = options.bucket ?? "pinset-test";
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const address = await server.run();
  process.env.AWS_ACCESS_KEY_ID ??= "S3RVER";
  process.env.AWS_SECRET_ACCESS_KEY ??= "S3RVER";
  const config: S3Config = {
    bucket,
    endpoint: `http://127.0.0.1:${address.port}`,
    region: "us-east-1",
    forcePathStyle: true,
    checksums: "when_required",
    prefix: "",
  };
  return {
    config,
    dir,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
