import type { Readable } from "node:stream";
import type { Kysely } from "kysely";
import { recordAudit } from "../audit/store.js";
import type { Database } from "../db/schema.js";
import { AppError, GoneError, NotFoundError, PayloadTooLargeError } from "../core/errors.js";
import type { Actor } from "../core/actor.js";
import type { RangeRequest } from "../core/byte-range.js";
import { digestStream } from "./digest-meter.js";
import { blobKey } from "./keys.js";
import { BlobLinkStore } from "./link-store.js";
import type { BlobStore } from "./ports.js";

export interface BlobServiceDeps {
  db: Kysely<Database>;
  store: BlobStore;
  maxBlobBytes: number;
  onBytesIn?: (n: number) => void;
}

export class BlobService {
  readonly links: BlobLinkStore;

  constructor(private readonly deps: BlobServiceDeps) {
    this.links = new BlobLinkStore(deps.db);
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

    const created = await this.deps.db.transaction().execute(async (trx) => {
      await this.links.recordBlob(trx, digest, size);
      const linked = await this.links.link(trx, project, digest);
      if (linked) await recordAudit(trx, actor, { project, action: "blob.upload", target: `blob/${digest}`, after: { digest, size } });
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
      await this.deps.db.transaction().execute(async (trx) => {
        if (!(await this.links.lockClaimed(trx, digest))) return;
        if (!(await this.deps.store.head(blobKey(digest)))) return;
        await trx.updateTable("blobs").set({ gc_claimed_at: null, touched_at: new Date() }).where("digest", "=", digest).execute();
      });
    }
  }

  async head(project: string, digest: string): Promise<{ size: number }> {
    const linked = await this.links.findLinked(project, digest);
    if (linked) return { size: Number(linked.size) };
    const retired = await this.links.retiredReference(project, digest);
    if (retired) {
      throw new GoneError(
        `Blob ${digest} was collected: it belongs to ${retired.kind}/${retired.name}@${retired.version}, which was retired by garbage collection (outside the retention settings)`,
      );
    }
    throw new NotFoundError(`Blob ${digest} not found in project ${project}`);
  }

  async open(project: string, digest: string, range: (size: number) => RangeRequest): Promise<{ size: number; request: RangeRequest; stream?: Readable }> {
    const { size } = await this.head(project, digest);
    const request = range(size);
    if (request.kind === "unsatisfiable") return { size, request };
    const stream = await this.deps.store.get(blobKey(digest), request.kind === "range" ? request.range : undefined);
    if (!stream) {
      // Collected between the row read and the byte read: answer as if the row had gone first.
      await this.head(project, digest);
      // A row without bytes means the store lost data behind our back: say so, loudly.
      throw new AppError({ code: "internal", status: 500, title: "Blob missing from storage", detail: `Blob ${digest} is recorded but its bytes are missing from the blob store` });
    }
    return { size, request, stream };
  }
}
