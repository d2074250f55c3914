import type { Tx } from "../core/transaction.js";
import type { Retention } from "./settings.js";

export type { AuditRecorder as GcAudit } from "../audit/ports.js";

export interface GcRunRecord {
  seq: number;
  id: string;
  project: string | null;
  dry_run: boolean;
  state: "running" | "finished" | "failed" | "interrupted";
  trigger: "api" | "schedule";
  actor: string | null;
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
  report: unknown;
  error: string | null;
}

/** The garbage collector's own tables: retention settings and the record of runs. */
export interface GcStore {
  /** The project's settings, or the defaults when it has no row. */
  retention(project: string, tx?: Tx): Promise<Retention>;
  setRetention(tx: Tx, project: string, value: Retention, actor: string): Promise<void>;
  /**
   * Inserts a 'running' row, first marking as interrupted any 'running' row whose heartbeat is
   * older than the lease (its process died). One running row at most: a second start fails with
   * ConflictError (the partial unique index on the databases).
   */
  startRun(input: { project: string | null; dryRun: boolean; trigger: "api" | "schedule"; actor: string | null; leaseMs: number }): Promise<GcRunRecord>;
  heartbeat(id: string): Promise<void>;
  finishRun(id: string, outcome: { state: "finished" | "failed"; report?: unknown; error?: string }): Promise<GcRunRecord>;
  /** Newest first; `before` is a seq (the cursor). */
  listRuns(options: { before?: number; limit: number }): Promise<GcRunRecord[]>;
}

export interface VersionKey {
  project: string;
  kind: string;
  name: string;
  version: number;
}

export interface ProjectTally {
  project: string;
  retired_versions: number;
  blobs: number;
  bytes: number;
}

/**
 * The mark and sweep: set operations over every domain's tables (src/gc/collection-store.ts
 * says why this one port reads them directly). Every statement that decides runs after the row
 * locks it relies on, in the transaction handed in.
 */
export interface CollectionStore {
  /** A dry run: what would be retired and freed, per project and in total. */
  preview(options: { project?: string; graceMs: number }): Promise<{ projects: ProjectTally[]; total: Omit<ProjectTally, "project"> }>;
  /** Retirable index versions, keys only, in lock order. */
  retirable(options: { project?: string; graceMs: number }): Promise<VersionKey[]>;
  /** Retires what is still retirable among `keys` (one project), after locking them. */
  retire(tx: Tx, project: string, keys: VersionKey[], graceMs: number): Promise<VersionKey[]>;
  /** The next dead blobs after `after`, in digest order. */
  deadDigests(options: { after: string; limit: number; project?: string; graceMs: number }): Promise<string[]>;
  /** Claims those among `digests` still dead, after locking their rows. */
  claim(tx: Tx, digests: string[], graceMs: number): Promise<string[]>;
  /** Locks the rows among `digests` that are still claimed. */
  lockClaimed(tx: Tx, digests: string[]): Promise<Array<{ digest: string; size: number }>>;
  linksOf(tx: Tx, digests: string[]): Promise<Array<{ project: string; digest: string }>>;
  deleteBlobRows(tx: Tx, digests: string[]): Promise<void>;
  /** What the database says each project holds in the blob store (claimed blobs no longer count). */
  bytesByProject(): Promise<Array<{ project: string; bytes: number }>>;
}

/** Housekeeping the collector does for webhooks (their delivered outbox rows and old attempts). */
export interface WebhookHousekeeping {
  prune(days: number): Promise<{ outbox_rows: number; attempts: number }>;
}
