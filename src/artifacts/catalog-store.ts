import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** One artifact (kind, name) of a project, as its latest version. */
export interface CatalogRow {
  kind: string;
  name: string;
  version: number;
  digest: string;
  size: number;
  annotations: Record<string, string>;
  created_at: Date;
}

export interface CatalogQuery {
  project: string;
  kind?: string | undefined;
  /** Only names that start with this (compared as text, not a LIKE pattern: `_` is a name character). */
  prefix?: string | undefined;
  /** Resume after this artifact, in the list's (kind, name) order. */
  after?: { kind: string; name: string } | undefined;
  limit: number;
}

/**
 * The project's artifacts, each once, as its latest version, ordered by kind then name. Kept
 * apart from ArtifactStore (publishing) on purpose: this is a read of committed rows only.
 * `DISTINCT ON` walks the primary key (project, kind, name, version) in order, so a page reads
 * the versions of the names it returns and stops.
 */
export function listLatestArtifacts(db: Kysely<Database>, query: CatalogQuery): Promise<CatalogRow[]> {
  let q = db
    .selectFrom("artifacts")
    .distinctOn(["kind", "name"])
    .select(["kind", "name", "version", "digest", "size", "annotations", "created_at"])
    .where("project", "=", query.project)
    .orderBy("kind")
    .orderBy("name")
    .orderBy("version", "desc")
    .limit(query.limit);
  if (query.kind !== undefined) q = q.where("kind", "=", query.kind);
  if (query.prefix !== undefined) q = q.where(sql<boolean>`starts_with(name, ${query.prefix})`);
  if (query.after !== undefined) q = q.where(sql<boolean>`(kind, name) > (${query.after.kind}, ${query.after.name})`);
  return q.execute();
}
