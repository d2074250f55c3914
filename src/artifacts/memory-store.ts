import { compareCodeUnits } from "../core/compare.js";
import { ConflictError } from "../core/errors.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type {
  ArtifactKey,
  ArtifactRecord,
  ArtifactRef,
  ArtifactStore,
  ArtifactVersionKey,
  ArtifactVersionRecord,
  CatalogQuery,
  CatalogRecord,
  HeldVersion,
  NewArtifactVersion,
} from "./ports.js";

interface ArtifactTable {
  seq: number;
  rows: ArtifactRecord[];
}

/** `artifact_blobs` rows as one key each: version and digest, NUL-separated (no name holds a NUL). */
type BlobReferenceTable = Set<string>;

function versionId(v: ArtifactVersionKey): string {
  return [v.project, v.kind, v.name, v.version].join("\0");
}

function sameName(row: ArtifactRecord, key: ArtifactKey): boolean {
  return row.project === key.project && row.kind === key.kind && row.name === key.name;
}

function copy(row: ArtifactRecord): ArtifactRecord {
  return { ...row, annotations: { ...row.annotations } };
}

/**
 * Artifacts in memory, for service unit tests; kept honest by test/contract/artifact-store.ts.
 * Transactions of MemoryTables run one at a time, so `lockName` has nothing to wait for and
 * `holdVersions` locks nothing (concurrency is tested on the SQL stores only).
 */
export class MemoryArtifactStore implements ArtifactStore {
  constructor(private readonly tables: MemoryTables) {}

  private get artifacts(): ArtifactTable {
    return this.tables.table<ArtifactTable>("artifacts", () => ({ seq: 0, rows: [] }));
  }

  private get references(): BlobReferenceTable {
    return this.tables.table<BlobReferenceTable>("artifact_blobs", () => new Set());
  }

  async find(key: ArtifactKey, ref: ArtifactRef): Promise<ArtifactRecord | undefined> {
    const versions = this.artifacts.rows.filter((r) => sameName(r, key));
    const row =
      ref.by === "version"
        ? versions.find((r) => r.version === ref.version)
        : ref.by === "digest"
          ? versions.find((r) => r.digest === ref.digest)
          : versions.reduce<ArtifactRecord | undefined>((top, r) => (top === undefined || r.version > top.version ? r : top), undefined);
    return row && copy(row);
  }

  async findByDigest(key: ArtifactKey, digest: string): Promise<ArtifactRecord | undefined> {
    return this.find(key, { by: "digest", digest });
  }

  async listVersions(key: ArtifactKey, options: { before?: number; limit: number }): Promise<ArtifactVersionRecord[]> {
    return this.artifacts.rows
      .filter((r) => sameName(r, key) && (options.before === undefined || r.version < options.before))
      .sort((a, b) => b.version - a.version)
      .slice(0, options.limit)
      .map(({ kind, name, version, digest, size, annotations, created_at, created_by, retired_at }) => ({
        kind,
        name,
        version,
        digest,
        size,
        annotations: { ...annotations },
        created_at,
        created_by,
        retired_at,
      }));
  }

  async listLatest(query: CatalogQuery): Promise<CatalogRecord[]> {
    const latest = new Map<string, ArtifactRecord>();
    for (const row of this.artifacts.rows) {
      if (row.project !== query.project) continue;
      const id = `${row.kind}\0${row.name}`;
      const top = latest.get(id);
      if (top === undefined || row.version > top.version) latest.set(id, row);
    }
    const after = query.after;
    return [...latest.values()]
      .filter(
        (r) =>
          (query.kind === undefined || r.kind === query.kind) &&
          (query.prefix === undefined || r.name.startsWith(query.prefix)) &&
          (after === undefined || compareCodeUnits(r.kind, after.kind) > 0 || (r.kind === after.kind && compareCodeUnits(r.name, after.name) > 0)),
      )
      .sort((a, b) => compareCodeUnits(a.kind, b.kind) || compareCodeUnits(a.name, b.name))
      .slice(0, query.limit)
      .map(({ kind, name, version, digest, size, annotations, created_at }) => ({ kind, name, version, digest, size, annotations: { ...annotations }, created_at }));
  }

  async lockName(_tx: Tx, _key: ArtifactKey, _lockTimeoutMs: number): Promise<void> {}

  async insertNextVersion(_tx: Tx, row: NewArtifactVersion): Promise<ArtifactRecord> {
    const table = this.artifacts;
    const versions = table.rows.filter((r) => sameName(r, row));
    if (versions.some((r) => r.digest === row.digest)) {
      throw new ConflictError(`${row.kind}/${row.name} of project ${row.project} changed while this version was numbered`);
    }
    const inserted: ArtifactRecord = {
      seq: ++table.seq,
      project: row.project,
      kind: row.kind,
      name: row.name,
      version: versions.reduce((top, r) => Math.max(top, r.version), 0) + 1,
      digest: row.digest,
      size: row.size,
      content: row.content,
      // Stored as jsonb, read back parsed.
      annotations: JSON.parse(JSON.stringify(row.annotations)) as Record<string, string>,
      created_by: row.createdBy,
      created_at: new Date(),
      retired_at: null,
    };
    table.rows.push(inserted);
    return copy(inserted);
  }

  async insertBlobReferences(_tx: Tx, version: ArtifactVersionKey, digests: string[]): Promise<void> {
    const references = this.references;
    for (const digest of digests) references.add(`${versionId(version)}\0${digest}`);
  }

  async blobReferences(version: ArtifactVersionKey): Promise<string[]> {
    const prefix = `${versionId(version)}\0`;
    return [...this.references]
      .filter((r) => r.startsWith(prefix))
      .map((r) => r.slice(prefix.length))
      .sort(compareCodeUnits);
  }

  async retiredReference(project: string, digest: string): Promise<ArtifactVersionKey | undefined> {
    const references = this.references;
    const row = this.artifacts.rows
      .filter((r) => r.project === project && r.retired_at !== null && references.has(`${versionId(r)}\0${digest}`))
      .sort((a, b) => b.version - a.version)[0];
    return row && { project: row.project, kind: row.kind, name: row.name, version: row.version };
  }

  async holdVersions(_tx: Tx, project: string, versions: ReadonlyArray<{ kind: string; name: string; version: number }>): Promise<HeldVersion[]> {
    const wanted = new Set(versions.map((v) => versionId({ project, ...v })));
    return this.artifacts.rows
      .filter((r) => wanted.has(versionId(r)))
      .sort((a, b) => compareCodeUnits(a.kind, b.kind) || compareCodeUnits(a.name, b.name) || a.version - b.version)
      .map((r) => ({ kind: r.kind, name: r.name, version: r.version, retired: r.retired_at !== null }));
  }

  /** What a collection's retirement does to a version (src/gc), for tests. */
  markRetired(version: ArtifactVersionKey): void {
    const row = this.artifacts.rows.find((r) => versionId(r) === versionId(version));
    if (row) row.retired_at = new Date();
  }
}
