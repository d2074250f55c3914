import type { ArtifactKind } from "../artifacts/kinds/index.js";
import type { ArtifactStore } from "../artifacts/ports.js";
import type { Tx } from "../core/transaction.js";

export type { AuditRecorder as VersionSetAudit } from "../audit/ports.js";

/** One slot of a set: the exact artifact version it pins. */
export interface PinnedComponent {
  kind: ArtifactKind;
  name: string;
  version: number;
  digest: string;
}

export interface CodeRef {
  repo: string;
  commit: string;
}

/** A stored set, as the `version_sets` table keeps it. */
export interface VersionSetRecord {
  /** Insertion order: the list's newest-first order and its cursor. */
  seq: number;
  project: string;
  id: string;
  /** slot → pinned version, as stored (kinds were checked when the set was created). */
  components: Record<string, { kind: string; name: string; version: number; digest: string }>;
  code: CodeRef | null;
  description: string | null;
  created_by: string | null;
  created_at: Date;
}

export interface NewVersionSet {
  project: string;
  id: string;
  components: Record<string, PinnedComponent>;
  code: CodeRef | null;
  description: string | null;
  createdBy: string;
}

/** The `version_sets` table: a set is inserted once and never updated (its id is content-derived). */
export interface VersionSetStore {
  find(project: string, id: string, tx?: Tx): Promise<VersionSetRecord | undefined>;
  /** The sets among `ids` that exist, in no particular order. */
  findMany(project: string, ids: readonly string[], tx?: Tx): Promise<VersionSetRecord[]>;
  /**
   * The ids among `ids` that name a set of the project, each once, in no particular order: a
   * diff's question on every request (no components read, so nothing but ids is parsed).
   */
  existingIds(project: string, ids: readonly string[]): Promise<string[]>;
  /** Whether the set exists: cheaper than find (no components read). */
  exists(project: string, id: string, tx?: Tx): Promise<boolean>;
  /** Newest first; `before` is a `seq` (the cursor). */
  list(project: string, options: { before?: number; limit: number }): Promise<VersionSetRecord[]>;
  /** ConflictError when the project already holds a set of that id (a concurrent identical create). */
  insert(tx: Tx, row: NewVersionSet): Promise<VersionSetRecord>;
}

/** What version sets need from the artifacts domain: the versions a set pins, and a hold on them. */
export type PinnableArtifacts = Pick<ArtifactStore, "find" | "findByDigest" | "holdVersions">;

/**
 * What version sets need from the webhooks domain (its EventOutbox satisfies it): the
 * `version_set.created` outbox rows, written in the create transaction so they commit with it.
 */
export interface VersionSetOutbox {
  enqueue(tx: Tx, event: { project: string; event: "version_set.created"; data: unknown }): Promise<unknown>;
}

/**
 * What a change that makes sets reachable needs (a deploy, a rollback, a rollout's candidate):
 * inside its transaction, the index versions the sets pin are share-locked until it commits and
 * none is retired by garbage collection (else 410 naming them). VersionSetService implements it.
 */
export interface SetLiveness {
  assertSetsLive(tx: Tx, project: string, sets: readonly string[]): Promise<void>;
}

/**
 * Whether a set exists, read in the caller's transaction (on PGlite a read outside an open
 * transaction would wait for it to end). VersionSetService implements it.
 */
export interface SetExistence {
  versionSetExists(tx: Tx, project: string, id: string): Promise<boolean>;
}
