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
 *
 * "Latest" is "no higher version of the same name" (an anti-join on the primary key) rather than
 * `DISTINCT ON … ORDER BY kind, name, version DESC`: the rows then come in the primary key's own
 * order, so a page walks the index from the cursor and stops after `limit` names. Measured on
 * Postgres 15 with 20 000 names × 5 versions in one project (load ~30): a first page in 2–5 ms
 * (min), where DISTINCT ON took 14 ms with parallel workers and 0.7 s without them (a sequential
 * scan and a sort of every version) — and PGlite has no parallel workers.
 */
export function listLatestArtifacts(db: Kysely<Database>, query: CatalogQuery): Promise<CatalogRow[]> {
  let q = db
    .selectFrom("artifacts as a")
    .select(["a.kind", "a.name", "a.version", "a.digest", "a.size", "a.annotations", "a.created_at"])
    .where("a.project", "=", query.project)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("artifacts as b")
            .select(sql<number>`1`.as("newer"))
            .whereRef("b.project", "=", "a.project")
            .whereRef("b.kind", "=", "a.kind")
            .whereRef("b.name", "=", "a.name")
            .whereRef("b.version", ">", "a.version"),
        ),
      ),
    )
    .orderBy("a.kind")
    .orderBy("a.name")
    .limit(query.limit);
  if (query.kind !== undefined) q = q.where("a.kind", "=", query.kind);
  if (query.prefix !== undefined) q = q.where(sql<boolean>`starts_with(a.name, ${query.prefix})`);
  if (query.after !== undefined) q = q.where(sql<boolean>`(a.kind, a.name) > (${query.after.kind}, ${query.after.name})`);
  return q.execute();
}
