import type { Readable } from "node:stream";
import type { ByteRange } from "../core/byte-range.js";
import type { Tx } from "../core/transaction.js";

export type { AuditRecorder as BlobAudit } from "../audit/ports.js";

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

/**
 * Rows about blobs: `blobs` (bytes committed to the byte store) and `blob_links` (which project
 * may read them).
 *
 * A row with `gc_claimed_at` set is being collected (src/gc/collector.ts): its bytes are not
 * trusted, so it counts as absent for reads, and whoever needs the bytes again either stores
 * them again (upload) or checks they are still there before clearing the claim (revive).
 * `touched_at` is refreshed by every upload, so a collection never claims a blob that is
 * being uploaded or was uploaded within the grace period.
 */
export interface BlobLinkStore {
  /** The blob's size when `project` has linked it and it is not claimed; undefined otherwise (even if another project has). */
  findLinked(project: string, digest: string): Promise<{ size: number } | undefined>;
  /**
   * Refreshes `touched_at` when the bytes are trusted (row present, not claimed) and returns the
   * size; when `project` is given, only if that project has linked the blob. The row lock this
   * takes orders the touch with a collection's claim: either the claim sees the fresh touch, or
   * the touch sees the claim and returns undefined.
   */
  touch(digest: string, project?: string): Promise<{ size: number } | undefined>;
  /**
   * Takes a claimed blob back from the collector before its bytes are stored again: clears the
   * claim and touches the row (waiting for a collector holding the row). From then on the
   * collector leaves the bytes alone; the caller stores them (again) before relying on them.
   */
  unclaim(digest: string): Promise<void>;
  /** Linked blobs of `project` among `digests`, with their sizes (claimed ones too: a publish may revive them). */
  linkedAmong(project: string, digests: string[]): Promise<Map<string, number>>;
  /**
   * Inside a publish transaction: share-locks the blob rows the new version references, so no
   * collection can claim them until the transaction (and its references) commits. Returns the
   * digests that are claimed or gone: the publish must not reference them as they are.
   */
  hold(tx: Tx, digests: string[]): Promise<string[]>;
  /** Whether `digest` is claimed, taking its row's update lock until `tx` ends (false when absent). */
  lockClaimed(tx: Tx, digest: string): Promise<boolean>;
  /** Clears the claim on `digest` and touches it (revive, under lockClaimed's lock). */
  clearClaim(tx: Tx, digest: string): Promise<void>;
  /** Records committed bytes (or touches the row when it exists). */
  recordBlob(tx: Tx, digest: string, size: number): Promise<void>;
  /** Links the blob to `project`: true when this call created the link. */
  link(tx: Tx, project: string, digest: string): Promise<boolean>;
}

/**
 * What reading a blob needs from the artifacts domain (its ArtifactStore satisfies it): the
 * retired version that explains why a blob is gone (410 rather than 404).
 */
export interface RetiredBlobReferences {
  retiredReference(project: string, digest: string): Promise<{ kind: string; name: string; version: number } | undefined>;
}
