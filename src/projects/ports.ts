import type { Tx } from "../core/transaction.js";

export type { AuditRecorder as ProjectAudit } from "../audit/ports.js";

export interface ProjectRecord {
  /** Insertion order: the list's newest-first order and its cursor. */
  seq: number;
  name: string;
  description: string | null;
  created_at: Date;
}

/**
 * The projects table. A project, once created, is never updated or deleted (nothing else in
 * the schema allows it: every project-scoped table references it). ProjectService relies on
 * that to keep found rows in memory without invalidation; a method that changes or removes a
 * project must come with an invalidation through the change feed.
 */
export interface ProjectStore {
  find(name: string, tx?: Tx): Promise<ProjectRecord | undefined>;
  /** Inserts unless a project of that name exists: the new row, or undefined when it existed. */
  insertIfAbsent(tx: Tx, name: string, description: string | null): Promise<ProjectRecord | undefined>;
  /** Newest first; `names` restricts to the projects a token may see ("*" for all). */
  list(options: { names: "*" | readonly string[]; before?: number; limit: number }): Promise<ProjectRecord[]>;
}

/**
 * What every project-scoped domain needs from projects: the project exists (or a 404). Services
 * call it before anything else, so routes never do.
 */
export interface ProjectDirectory {
  require(name: string): Promise<ProjectRecord>;
}
