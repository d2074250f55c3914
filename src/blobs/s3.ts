import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type { S3Config } from "../config.js";
import { DigestMeter } from "./digest-meter.js";
import { assertSafeKey } from "./keys.js";
import type { BlobStore, PutOptions, PutResult, SweepResult } from "./ports.js";
import type { ByteRange } from "../core/byte-range.js";

/** 8 MiB parts: above S3's 5 MiB minimum, and 10 000 parts still reach 80 GiB. */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploading at once; memory stays near (MAX_IN_FLIGHT + 1) × PART_SIZE. */
const MAX_IN_FLIGHT = 2;

export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    // Some S3-compatible servers store aws-chunked framing as the object when the SDK's
    // default checksums are on; `when_required` turns them off (TOOLCHAIN.md).
    ...(config.checksums === "when_required"
      ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" }
      : {}),
  });
}

function isNotImplemented(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotImplemented" || e.Code === "NotImplemented" || e.$metadata?.httpStatusCode === 501;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}

/**
 * Blobs in an S3 bucket. Small bodies are buffered (one part at most), verified, then put;
 * larger ones go up as a multipart upload that is completed only when the digest matches and
 * aborted otherwise, so wrong bytes never appear under a key.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix = "",
  ) {}

  private keyOf(key: string): string {
    assertSafeKey(key);
    return `${this.prefix}${key}`;
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<PutResult> {
    const Key = this.keyOf(key);
    const meter = new DigestMeter(options);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();

    const flushPart = async (data: Buffer) => {
      if (!uploadId) {
        const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      const slot: CompletedPart = { PartNumber };
      parts.push(slot);
      const task = this.client
        .send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: data, ContentLength: data.byteLength }))
        .then((r) => {
          slot.ETag = r.ETag;
        });
      const tracked = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    };

    try {
      for await (const chunk of body) {
        meter.update(chunk);
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= PART_SIZE) {
          const all = Buffer.concat(pending, pendingBytes);
          pending = [all.subarray(PART_SIZE)];
          pendingBytes = pending[0]!.byteLength;
          await flushPart(all.subarray(0, PART_SIZE));
        }
      }
      const digest = meter.verify();
      const rest = Buffer.concat(pending, pendingBytes);
      if (!uploadId) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: rest, ContentLength: rest.byteLength }));
      } else {
        if (rest.byteLength > 0) await flushPart(rest);
        await Promise.all(inFlight);
        await this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        );
      }
      return { digest, size: meter.size };
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (uploadId) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
          .catch(() => {});
      }
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      return { size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /**
   * Aborts incomplete multipart uploads under this store's own key prefixes (blobs/, reports/)
   * initiated before `before`: what a process killed mid-upload leaves (an upload that fails
   * while the process lives is aborted at once by put). A server that cannot list multipart
   * uploads (s3rver) gives `supported: false`; a bucket lifecycle rule
   * (AbortIncompleteMultipartUpload) does the same job there.
   */
  async sweepAbandonedUploads(before: Date): Promise<SweepResult> {
    let removed = 0;
    for (const area of ["blobs/", "reports/"]) {
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (;;) {
        let page;
        try {
          page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: `${this.prefix}${area}`, KeyMarker, UploadIdMarker }));
        } catch (err) {
          if (isNotImplemented(err)) return { removed, supported: false };
          throw err;
        }
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated.getTime() >= before.getTime()) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          removed++;
        }
        if (!page.IsTruncated) break;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
    }
    return { removed, supported: true };
  }
}
