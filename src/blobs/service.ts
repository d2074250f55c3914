import type { Readable } from "node:stream";
import type { Actor } from "../core/actor.js";
import type { RangeRequest } from "../core/byte-range.js";
import { AppError, GoneError, NotFoundError, PayloadTooLargeError } from "../core/errors.js";
import type { Transactions } from "../core/transaction.js";
import type { ProjectDirectory } from "../projects/ports.js";
import { digestStream } from "./digest-meter.js";
import { blobKey } from "./keys.js";
import type { BlobAudit, BlobLinkStore, BlobStore, RetiredBlobReferences } from "./ports.js";

export interface BlobServiceDeps {
  /** The bytes. */
  store: BlobStore;
  /** The rows about them. */
  links: BlobLinkStore;
  projects: ProjectDirectory;
  audit: BlobAudit;
  transactions: Transactions;
  /** Why a blob is gone, when an artifact version that referenced it was retired (410). */
  retired: RetiredBlobReferences;
  maxBlobBytes: number;
  onBytesIn?: (n: number) => void;
}

export class BlobService {
  private readonly links: BlobLinkStore;

  constructor(private readonly deps: BlobServiceDeps) {
    this.links = deps.links;
  }

  /**
   * Write order is the integrity rule: bytes are hashed while they stream, committed to the
   * store only when they match `digest`, and only then do the `blobs`/`blob_links` rows appear.
   * A project that uploads bytes already stored by another still sends (and we still hash)
   * them: knowing a digest is not proof of holding the content.
   *
   * Every path touches the blob row before it relies on the bytes (see BlobLinkStore): a
   * collection running at the same time either sees the touch and keeps the blob, or has
   * claimed it first, and then the bytes are stored again after the claim is taken back.
   */
  async upload(actor: Actor, options: { project: string; digest: string; body: AsyncIterable<Uint8Array>; declaredLength?: number }) {
    const { project, digest, body } = options;
    await this.deps.projects.require(project);
    const { maxBlobBytes } = this.deps;
    if (options.declaredLength !== undefined && options.declaredLength > maxBlobBytes) {
      throw new PayloadTooLargeError(`The blob is ${options.declaredLength} bytes; the limit is ${maxBlobBytes}`);
    }
    const already = await this.links.touch(digest, project);
    if (already) return { created: false, digest, size: Number(already.size) };

    const putOptions = { digest, maxBytes: maxBlobBytes, ...(this.deps.onBytesIn ? { onBytes: this.deps.onBytesIn } : {}) };
    const trusted = await this.links.touch(digest);
    // Absent, or claimed by a collection: take the claim back, then store the bytes again.
    if (!trusted) await this.links.unclaim(digest);
    const { size } = trusted ? await digestStream(body, putOptions) : await this.deps.store.put(blobKey(digest), body, putOptions);

    const created = await this.deps.transactions.run(async (tx) => {
      await this.links.recordBlob(tx, digest, size);
      const linked = await this.links.link(tx, project, digest);
      if (linked) await this.deps.audit.record(tx, actor, { project, action: "blob.upload", target: `blob/${digest}`, after: { digest, size } });
      return linked;
    });
    return { created, digest, size };
  }

  /**
   * Takes claimed blobs back from the collector when their bytes are still in the store (a
   * publish referencing them). The row lock orders this with the collector's delete: either
   * the collector finds the claim gone and keeps the bytes, or it deleted them and the row
   * with them, and the blob stays absent.
   */
  async revive(digests: string[]): Promise<void> {
    for (const digest of new Set(digests)) {
      await this.deps.transactions.run(async (tx) => {
        if (!(await this.links.lockClaimed(tx, digest))) return;
        if (!(await this.deps.store.head(blobKey(digest)))) return;
        await this.links.clearClaim(tx, digest);
      });
    }
  }

  /** The blob's size (404 for an unknown project or blob, 410 for one a retired version referenced). */
  async head(project: string, digest: string): Promise<{ size: number }> {
    await this.deps.projects.require(project);
    return this.sizeOf(project, digest);
  }

  private async sizeOf(project: string, digest: string): Promise<{ size: number }> {
    const linked = await this.links.findLinked(project, digest);
    if (linked) return linked;
    const retired = await this.deps.retired.retiredReference(project, digest);
    if (retired) {
      throw new GoneError(
        `Blob ${digest} was collected: it belongs to ${retired.kind}/${retired.name}@${retired.version}, which was retired by garbage collection (outside the retention settings)`,
      );
    }
    throw new NotFoundError(`Blob ${digest} not found in project ${project}`);
  }

  /**
   * The blob's bytes, or the range `range` picks once the size is known. `clientHasIt`: the
   * request's etag is this digest, so the bytes cannot have changed and nothing of the blob is
   * read (only the project checked): `notModified`.
   */
  async open(
    project: string,
    digest: string,
    options: { range: (size: number) => RangeRequest; clientHasIt?: boolean },
  ): Promise<{ notModified: true } | { notModified: false; size: number; request: RangeRequest; stream?: Readable }> {
    await this.deps.projects.require(project);
    if (options.clientHasIt) return { notModified: true };
    const { size } = await this.sizeOf(project, digest);
    const request = options.range(size);
    if (request.kind === "unsatisfiable") return { notModified: false, size, request };
    const stream = await this.deps.store.get(blobKey(digest), request.kind === "range" ? request.range : undefined);
    if (!stream) {
      // Collected between the row read and the byte read: answer as if the row had gone first.
      await this.sizeOf(project, digest);
      // A row without bytes means the store lost data behind our back: say so, loudly.
      throw new AppError({ code: "internal", status: 500, title: "Blob missing from storage", detail: `Blob ${digest} is recorded but its bytes are missing from the blob store` });
    }
    return { notModified: false, size, request, stream };
  }
}
