import type { Actor } from "../core/actor.js";
import { CanonicalJsonError, digestOf } from "../core/canonical-json.js";
import { AppError, ConflictError, NotFoundError, UnprocessableError, type FieldError } from "../core/errors.js";
import { decodeCursor, toPage, type Page } from "../core/page.js";
import type { Transactions } from "../core/transaction.js";
import type { ProjectDirectory } from "../projects/ports.js";
import type { SchemaWorkers } from "../schemas/schema-workers.js";
import { KIND_VALIDATORS, type ArtifactKind } from "./kinds/index.js";
import {
  PublishQueueTimeout,
  type ArtifactAudit,
  type ArtifactKey,
  type ArtifactOutbox,
  type ArtifactRecord,
  type ArtifactRef,
  type ArtifactStore,
  type PublishBlobs,
} from "./ports.js";

export interface ArtifactSummary {
  kind: string;
  name: string;
  version: number;
  digest: string;
  size: number;
  created_at: string;
  annotations: Record<string, string>;
  /** Present once garbage collection retired the version (index only): its blobs' bytes may be gone. */
  retired_at?: string;
}

export function summary(row: Pick<ArtifactRecord, "kind" | "name" | "version" | "digest" | "size" | "created_at" | "annotations"> & { retired_at?: Date | null }): ArtifactSummary {
  return {
    kind: row.kind,
    name: row.name,
    version: row.version,
    digest: row.digest,
    size: row.size,
    created_at: row.created_at.toISOString(),
    annotations: row.annotations ?? {},
    ...(row.retired_at ? { retired_at: row.retired_at.toISOString() } : {}),
  };
}

/**
 * A version as clients see it (openapi: Artifact), encoded as JSON: its summary, then its
 * content spliced in as it is. The content is the canonical JSON text publish stored (RFC 8785),
 * so parsing it only to stringify it again would cost the most of a large version's answer, and
 * would move integer-like keys ahead of the canonical order.
 */
export function encodeArtifact(row: ArtifactRecord): string {
  const head = JSON.stringify(summary(row));
  return `${head.slice(0, -1)},"content":${row.content}}`;
}

/**
 * How long a publish waits for the publishes queued before it on the same name. Each holds the
 * lock for one short transaction, so reaching this means the database is stuck, not busy.
 * The wait is one statement, so it must end inside that statement's write budget (else the
 * budget fires first and the client gets the vaguer "statement cancelled"): a second less.
 */
export function publishQueueWaitMs(writeBudgetMs: number): number {
  return Math.max(100, writeBudgetMs - 1_000);
}
const UNLOCKED_COLLISION_ATTEMPTS = 3;

function publishQueueTimeout(key: ArtifactKey, timeoutMs: number): AppError {
  return new AppError({
    code: "unavailable",
    status: 503,
    title: "Service unavailable",
    detail: `Publishes to ${key.kind}/${key.name} are queued behind one that has not finished in ${timeoutMs} ms; nothing was stored, retry`,
    headers: { "retry-after": "1" },
  });
}

class BlobsClaimed extends Error {
  constructor(readonly digests: string[]) {
    super("blobs claimed by a collection");
  }
}

function collectedBlobs(project: string, files: Array<{ path: string; digest: string }>, digests: string[]): UnprocessableError {
  const gone = new Set(digests);
  const errors: FieldError[] = [];
  files.forEach((file, i) => {
    if (gone.has(file.digest)) errors.push({ path: `content.files[${i}].digest`, message: `blob ${file.digest} (${file.path}) was collected by garbage collection; upload it again` });
  });
  return new UnprocessableError(`${gone.size} blob(s) of project ${project} were collected while this publish ran; upload them again`, errors);
}

export interface ArtifactServiceDeps {
  store: ArtifactStore;
  projects: ProjectDirectory;
  blobs: PublishBlobs;
  audit: ArtifactAudit;
  outbox: ArtifactOutbox;
  transactions: Transactions;
  schemas: Pick<SchemaWorkers, "limitErrors" | "compile">;
  /** The write budget of one statement (config `database.writeMs`, else the budgets' default). */
  writeBudgetMs: number;
  /** Takes blobs a collection has claimed back when their bytes are still stored (BlobService.revive). */
  reviveBlobs?: (digests: string[]) => Promise<void>;
}

export class ArtifactService {
  private readonly store: ArtifactStore;
  private readonly queueWaitMs: number;

  constructor(private readonly deps: ArtifactServiceDeps) {
    this.store = deps.store;
    this.queueWaitMs = publishQueueWaitMs(deps.writeBudgetMs);
  }

  /**
   * Validates, canonicalises and stores a new version — or returns the existing version with the
   * same canonical content (`created: false`), also when an identical publish races this one.
   */
  async publish(
    actor: Actor,
    key: ArtifactKey & { kind: ArtifactKind },
    input: { content: unknown; annotations: Record<string, string> },
  ): Promise<{ created: boolean; artifact: ArtifactSummary }> {
    await this.deps.projects.require(key.project);
    const check = KIND_VALIDATORS[key.kind].validate(input.content);
    const schemas = check.schemas ?? [];
    // Limits are checked inline (bounded work) so an oversized schema is refused at once.
    const errors = [...check.errors, ...this.deps.schemas.limitErrors(schemas)];
    if (errors.length > 0) throw new UnprocessableError(`The ${key.kind} content is invalid`, errors);
    if (check.blobs && check.blobs.length > 0) await this.requireLinkedBlobs(key.project, check.blobs);

    let canonical: ReturnType<typeof digestOf>;
    try {
      canonical = digestOf(input.content);
    } catch (err) {
      if (err instanceof CanonicalJsonError) throw new UnprocessableError("The content cannot be canonicalised", [{ path: err.path.replace(/^\$/, "content"), message: err.message }]);
      throw err;
    }

    // Republishing what is already there (CI does it on every run) needs no compile and no lock.
    const known = await this.store.findByDigest(key, canonical.digest);
    if (known) return { created: false, artifact: summary(known) };
    const compileErrors = await this.deps.schemas.compile(schemas);
    if (compileErrors.length > 0) throw new UnprocessableError(`The ${key.kind} content is invalid`, compileErrors);
    const digests = [...new Set((check.blobs ?? []).map((b) => b.digest))];
    let revived = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const { store, audit, outbox } = this.deps;
        const result = await this.deps.transactions.run(async (tx) => {
          await store.lockName(tx, key, this.queueWaitMs);
          // Under the lock: a publisher of the same content that went first has committed by now.
          const existing = await store.findByDigest(key, canonical.digest, tx);
          if (existing) return { created: false, row: existing };
          const inserted = await store.insertNextVersion(tx, {
            ...key,
            digest: canonical.digest,
            size: canonical.size,
            content: canonical.canonical,
            annotations: input.annotations,
            createdBy: actor.name,
          });
          if (digests.length > 0) {
            // The rows stay share-locked until commit, so a collection cannot claim them in between.
            const unavailable = await this.deps.blobs.hold(tx, digests);
            if (unavailable.length > 0) throw new BlobsClaimed(unavailable);
            await store.insertBlobReferences(tx, inserted, digests);
          }
          await audit.record(tx, actor, {
            project: key.project,
            action: "artifact.publish",
            target: `${key.kind}/${key.name}@${inserted.version}`,
            after: { version: inserted.version, digest: inserted.digest },
          });
          // Only a new version is an event; the outbox row commits with it.
          await outbox.enqueue(tx, { project: key.project, event: "artifact.published", data: summary(inserted) });
          return { created: true, row: inserted };
        });
        return { created: result.created, artifact: summary(result.row) };
      } catch (err) {
        if (err instanceof BlobsClaimed) {
          if (revived || !this.deps.reviveBlobs) throw collectedBlobs(key.project, check.blobs ?? [], err.digests);
          // A collection claimed them since requireLinkedBlobs: keep those whose bytes are still there, then retry.
          await this.deps.reviveBlobs(err.digests);
          revived = true;
          continue;
        }
        if (err instanceof PublishQueueTimeout) throw publishQueueTimeout(key, this.queueWaitMs);
        // Only a writer that does not take the lock (an older instance during a rolling
        // upgrade) can still collide; the next round sees its row.
        if (!(err instanceof ConflictError) || attempt >= UNLOCKED_COLLISION_ATTEMPTS) throw err;
      }
    }
  }

  private async requireLinkedBlobs(project: string, files: Array<{ path: string; digest: string; size: number }>) {
    const linked = await this.deps.blobs.linkedAmong(project, files.map((f) => f.digest));
    const errors: FieldError[] = [];
    files.forEach((file, i) => {
      const size = linked.get(file.digest);
      if (size === undefined) errors.push({ path: `content.files[${i}].digest`, message: `blob ${file.digest} (${file.path}) is not uploaded to this project` });
      else if (size !== file.size) errors.push({ path: `content.files[${i}].size`, message: `blob ${file.digest} has ${size} bytes, not ${file.size}` });
    });
    if (errors.length > 0) {
      throw new UnprocessableError(`${errors.length} index file(s) do not match blobs of project ${project}`, errors);
    }
  }

  /** The version as JSON (encodeArtifact): what `GET …/versions/{ref}` sends; 404 for an unknown project or version. */
  async getJson(key: ArtifactKey, ref: ArtifactRef): Promise<string> {
    return encodeArtifact(await this.require(key, ref));
  }

  private async require(key: ArtifactKey, ref: ArtifactRef): Promise<ArtifactRecord> {
    await this.deps.projects.require(key.project);
    const row = await this.store.find(key, ref);
    if (!row) throw new NotFoundError(`Artifact ${key.kind}/${key.name}@${describeRef(ref)} not found`);
    return row;
  }

  async list(key: ArtifactKey, page: { limit: number; cursor?: string }): Promise<Page<ArtifactSummary>> {
    await this.deps.projects.require(key.project);
    const rows = await this.store.listVersions(key, { before: decodeCursor(page.cursor), limit: page.limit + 1 });
    if (rows.length === 0 && page.cursor === undefined) throw new NotFoundError(`Artifact ${key.kind}/${key.name} not found`);
    return toPage(rows, page.limit, (r) => r.version, summary);
  }
}

export function describeRef(ref: ArtifactRef): string {
  return ref.by === "latest" ? "latest" : ref.by === "version" ? String(ref.version) : ref.digest;
}

/** `latest`, a version number, or a digest; undefined when it is none of those. */
export function parseArtifactRef(value: string): ArtifactRef | undefined {
  if (value === "latest") return { by: "latest" };
  if (/^[1-9][0-9]{0,8}$/.test(value)) return { by: "version", version: Number(value) };
  if (/^sha256:[0-9a-f]{64}$/.test(value)) return { by: "digest", digest: value };
  return undefined;
}
