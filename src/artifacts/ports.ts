import type { Tx } from "../core/transaction.js";

export type { AuditRecorder as ArtifactAudit } from "../audit/ports.js";

/** One artifact name of a project: its versions are numbered 1, 2, … in publish order. */
export interface ArtifactKey {
  project: string;
  kind: string;
  name: string;
}

/** One version of an artifact name. */
export interface ArtifactVersionKey extends ArtifactKey {
  version: number;
}

export type ArtifactRef = { by: "latest" } | { by: "version"; version: number } | { by: "digest"; digest: string };

/** A stored version, as the `artifacts` table keeps it. */
export interface ArtifactRecord {
  seq: number;
  project: string;
  kind: string;
  name: string;
  version: number;
  digest: string;
  size: number;
  /** The canonical JSON text (RFC 8785) whose sha256 is `digest`, kept verbatim. */
  content: string;
  annotations: Record<string, string>;
  created_by: string | null;
  created_at: Date;
  /** Set by garbage collection when it retires an index version (its blobs' bytes may be gone). */
  retired_at: Date | null;
}

/** A version in a version list: everything but its content. */
export type ArtifactVersionRecord = Pick<
  ArtifactRecord,
  "kind" | "name" | "version" | "digest" | "size" | "annotations" | "created_at" | "created_by" | "retired_at"
>;

/** One artifact (kind, name) of a project, as its latest version. */
export type CatalogRecord = Pick<ArtifactRecord, "kind" | "name" | "version" | "digest" | "size" | "annotations" | "created_at">;

export interface CatalogQuery {
  project: string;
  kind?: string | undefined;
  /** Only names that start with this (compared as text, not a LIKE pattern: `_` is a name character). */
  prefix?: string | undefined;
  /** Resume after this artifact, in the list's (kind, name) order. */
  after?: { kind: string; name: string } | undefined;
  limit: number;
}

export interface NewArtifactVersion extends ArtifactKey {
  digest: string;
  size: number;
  content: string;
  annotations: Record<string, string>;
  createdBy: string;
}

/** A version pinned somewhere, with whether garbage collection retired it. */
export interface HeldVersion {
  kind: string;
  name: string;
  version: number;
  retired: boolean;
}

/**
 * Waiting for `ArtifactStore.lockName` took longer than the wait it was given: the publishes
 * queued before it on that name are stuck.
 */
export class PublishQueueTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super(`waited ${waitedMs} ms for the publish lock`);
    this.name = "PublishQueueTimeout";
  }
}

/** The `artifacts` and `artifact_blobs` tables: versions are inserted once and never updated (but for retirement by gc). */
export interface ArtifactStore {
  /** The version `ref` names (`latest`: the highest number). */
  find(key: ArtifactKey, ref: ArtifactRef, tx?: Tx): Promise<ArtifactRecord | undefined>;
  findByDigest(key: ArtifactKey, digest: string, tx?: Tx): Promise<ArtifactRecord | undefined>;
  /** Versions newest first, without content; `before` is a version number (the cursor). */
  listVersions(key: ArtifactKey, options: { before?: number; limit: number }): Promise<ArtifactVersionRecord[]>;
  /**
   * The project's artifacts, each once as its latest version, ordered by kind then name: a read
   * of committed rows only, so a walk through it meets every name once while publishes go on.
   */
  listLatest(query: CatalogQuery): Promise<CatalogRecord[]>;
  /**
   * Serialises version numbering for one name until `tx` ends. Waiting longer than
   * `lockTimeoutMs` throws PublishQueueTimeout.
   */
  lockName(tx: Tx, key: ArtifactKey, lockTimeoutMs: number): Promise<void>;
  /**
   * Inserts the next version of the name. Callers hold lockName; a writer that does not (an
   * older instance) can still collide on the number or the digest: ConflictError.
   */
  insertNextVersion(tx: Tx, row: NewArtifactVersion): Promise<ArtifactRecord>;
  /** The blobs a new version references (index files): what keeps their bytes alive (src/gc). */
  insertBlobReferences(tx: Tx, version: ArtifactVersionKey, digests: string[]): Promise<void>;
  /** The blobs `version` references, sorted. */
  blobReferences(version: ArtifactVersionKey, tx?: Tx): Promise<string[]>;
  /** The newest retired version of `project` that references `digest` (for a 410 naming it). */
  retiredReference(project: string, digest: string): Promise<ArtifactVersionKey | undefined>;
  /**
   * Inside a transaction that makes these versions reachable (a deploy): share-locks their rows
   * until `tx` ends and says which are retired. A collection retires a version only under an
   * update lock on its row and re-reads what is reachable after taking it, so either it sees
   * this transaction's change or this one waits for the retirement and sees it. Missing
   * versions are left out; the result is ordered by kind, name, version.
   */
  holdVersions(tx: Tx, project: string, versions: ReadonlyArray<{ kind: string; name: string; version: number }>): Promise<HeldVersion[]>;
}

/**
 * What publishing needs from the blobs domain (BlobLinkStore satisfies it): which blobs a project
 * has uploaded, and a hold on them for the publish transaction.
 */
export interface PublishBlobs {
  /** Linked blobs of `project` among `digests`, with their sizes (claimed ones too: a publish may revive them). */
  linkedAmong(project: string, digests: string[]): Promise<Map<string, number>>;
  /** Share-locks the blob rows until `tx` ends; returns the digests claimed by a collection or gone. */
  hold(tx: Tx, digests: string[]): Promise<string[]>;
}

/**
 * What publishing needs from the webhooks domain (its EventOutbox satisfies it): the
 * `artifact.published` outbox rows, written in the publish transaction so they commit with it.
 */
export interface ArtifactOutbox {
  enqueue(tx: Tx, event: { project: string; event: "artifact.published"; data: unknown }): Promise<unknown>;
}
