import type { ByteRange } from "../core/byte-range.js";
import type { Readable } from "node:stream";

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */

export interface PutOptions {
  /** Expected digest (`sha256:<hex>`). When given, bytes that hash differently are never committed. */
  digest?: string;
  /** Upper bound on the body; exceeding it aborts the write with PayloadTooLargeError. */
  maxBytes?: number;
  /** Called with every chunk's length as it is written (metrics, progress). */
  onBytes?: (n: number) => void;
}

/** What a sweep of abandoned uploads did. */
export interface SweepResult {
  /** Abandoned uploads removed (temporary files, incomplete multipart uploads). */
  removed: number;
  /** False when the store cannot list its unfinished uploads (some S3-compatible servers). */
  supported: boolean;
}

export interface PutResult {
  digest: string;
  size: number;
}

/**
 * Streaming, content-agnostic object storage. `put` is all-or-nothing: a digest mismatch, an
 * oversize body, a client that goes away or a crash leaves nothing under `key`.
 * Memory use is bounded by a constant whatever the object size.
 */
export interface BlobStore {
  readonly kind: "fs" | "s3" | "memory";
  put(key: string, body: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<PutResult>;
  /** undefined when the key does not exist. The range must lie inside the object. */
  get(key: string, range?: ByteRange): Promise<Readable | undefined>;
  head(key: string): Promise<{ size: number } | undefined>;
  delete(key: string): Promise<void>;
  /** Throws when the store cannot serve requests (readiness). */
  check(): Promise<void>;
  /**
   * Removes uploads started before `before` and never finished — a process killed mid-upload
   * leaves them behind (a temporary file, an incomplete multipart upload). Stores without such
   * leftovers need not implement it.
   */
  sweepAbandonedUploads?(before: Date): Promise<SweepResult>;
}
