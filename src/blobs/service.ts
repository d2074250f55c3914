import type { Readable } from "node:stream";
import type { Kysely } from "kysely";
import { recordAudit } from "../audit/store.js";
import type { Database } from "../db/schema.js";
import { AppError, NotFoundError, PayloadTooLargeError } from "../errors.js";
import type { Actor } from "../http/context.js";
import type { RangeRequest } from "../http/range.js";
import { digestStream } from "./digest-meter.js";
import { blobKey } from "./keys.js";
import { BlobLinkStore } from "./link-store.js";
import type { BlobStore } from "./store.js";

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
   */
  async upload(actor: Actor, options: { project: string; digest: string; body: AsyncIterable<Uint8Array>; declaredLength?: number }) {
    const { project, digest, body } = options;
    const { maxBlobBytes } = this.deps;
    if (options.declaredLength !== undefined && options.declaredLength > maxBlobBytes) {
      throw new PayloadTooLargeError(`The blob is ${options.declaredLength} bytes; the limit is ${maxBlobBytes}`);
    }
    const already = await this.links.findLinked(project, digest);
    if (already) return { created: false, digest, size: already.size };

    const putOptions = { digest, maxBytes: maxBlobBytes, ...(this.deps.onBytesIn ? { onBytes: this.deps.onBytesIn } : {}) };
    const { size } = (await this.links.exists(digest))
      ? await digestStream(body, putOptions)
      : await this.deps.store.put(blobKey(digest), body, putOptions);

    const created = await this.deps.db.transaction().execute(async (trx) => {
      await this.links.recordBlob(trx, digest, size);
      const linked = await this.links.link(trx, project, digest);
      if (linked) await recordAudit(trx, actor, { project, action: "blob.upload", target: `blob/${digest}`, after: { digest, size } });
      return linked;
    });
    return { created, digest, size };
  }

  async head(project: string, digest: string): Promise<{ size: number }> {
    const linked = await this.links.findLinked(project, digest);
    if (!linked) throw new NotFoundError(`Blob ${digest} not found in project ${project}`);
    return linked;
  }

  async open(project: string, digest: string, range: (size: number) => RangeRequest): Promise<{ size: number; request: RangeRequest; stream?: Readable }> {
    const { size } = await this.head(project, digest);
    const request = range(size);
    if (request.kind === "unsatisfiable") return { size, request };
    const stream = await this.deps.store.get(blobKey(digest), request.kind === "range" ? request.range : undefined);
    if (!stream) {
      // A row without bytes means the store lost data behind our back: say so, loudly.
      throw new AppError({ code: "internal", status: 500, title: "Blob missing from storage", detail: `Blob ${digest} is recorded but its bytes are missing from the blob store` });
    }
    return { size, request, stream };
  }
}
