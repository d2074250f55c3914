import { ValidationError } from "../core/errors.js";
import { NAME_PATTERN } from "../core/names.js";
import type { Page } from "../core/page.js";
import type { ProjectDirectory } from "../projects/ports.js";
import { ARTIFACT_KINDS } from "./kinds/index.js";
import type { ArtifactStore, CatalogRecord } from "./ports.js";
import type { ArtifactSummary } from "./service.js";

/**
 * `GET /v1/projects/{p}/artifacts`: what a project holds, one entry per (kind, name) with its
 * latest version. Ordered by kind, then name — not newest first like the other lists — so that
 * paging through it meets every artifact exactly once even while publishes go on (a newest-first
 * order would move a name republished mid-walk to the front, past the reader's cursor).
 */
export interface CatalogOptions {
  kind?: string | undefined;
  prefix?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

interface Position {
  kind: string;
  name: string;
}

/** The cursor is the (kind, name) of the last entry of the page, base64url JSON like the others. */
function encodePosition(position: Position): string {
  return Buffer.from(JSON.stringify({ k: position.kind, n: position.name })).toString("base64url");
}

function decodePosition(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { k?: unknown; n?: unknown };
    const { k, n } = parsed;
    if (typeof k === "string" && (ARTIFACT_KINDS as readonly string[]).includes(k) && typeof n === "string" && NAME_PATTERN.test(n)) return { kind: k, name: n };
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError("The cursor is not one this server issued", [{ path: "query.cursor", message: "invalid cursor" }]);
}

function present(row: CatalogRecord): ArtifactSummary {
  return {
    kind: row.kind,
    name: row.name,
    version: row.version,
    digest: row.digest,
    size: row.size,
    created_at: row.created_at.toISOString(),
    annotations: row.annotations ?? {},
  };
}

export class ArtifactCatalog {
  constructor(private readonly deps: { store: Pick<ArtifactStore, "listLatest">; projects: ProjectDirectory }) {}

  async list(project: string, options: CatalogOptions): Promise<Page<ArtifactSummary>> {
    await this.deps.projects.require(project);
    // The cursor is checked before the store is asked (a forged one is a 400, not a query).
    const after = decodePosition(options.cursor);
    const rows = await this.deps.store.listLatest({
      project,
      kind: options.kind,
      prefix: options.prefix,
      after,
      limit: options.limit + 1,
    });
    const items = rows.slice(0, options.limit);
    const last = items.at(-1);
    return { items: items.map(present), next_cursor: rows.length > options.limit && last ? encodePosition(last) : null };
  }
}
