import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { BlobLinkStore } from "./ports.js";

interface BlobRow {
  digest: string;
  size: number;
  created_at: Date;
  touched_at: Date;
  gc_claimed_at: Date | null;
}

interface LinkTable {
  seq: number;
  /** `project` NUL `digest` → the link's seq. */
  rows: Map<string, number>;
}

const linkId = (project: string, digest: string): string => `${project}\0${digest}`;

/**
 * The blob rows in memory, for service unit tests; kept honest by
 * test/contract/blob-link-store.ts. Row locks are not modelled: MemoryTables runs one
 * transaction at a time, so `hold` and `lockClaimed` only read.
 */
export class MemoryBlobLinkStore implements BlobLinkStore {
  constructor(private readonly tables: MemoryTables) {}

  private get blobs(): Map<string, BlobRow> {
    return this.tables.table<Map<string, BlobRow>>("blobs", () => new Map());
  }

  private get links(): LinkTable {
    return this.tables.table<LinkTable>("blob_links", () => ({ seq: 0, rows: new Map() }));
  }

  private trusted(digest: string): BlobRow | undefined {
    const row = this.blobs.get(digest);
    return row && row.gc_claimed_at === null ? row : undefined;
  }

  async findLinked(project: string, digest: string): Promise<{ size: number } | undefined> {
    const row = this.trusted(digest);
    return row && this.links.rows.has(linkId(project, digest)) ? { size: row.size } : undefined;
  }

  async touch(digest: string, project?: string): Promise<{ size: number } | undefined> {
    const row = this.trusted(digest);
    if (!row || (project !== undefined && !this.links.rows.has(linkId(project, digest)))) return undefined;
    row.touched_at = new Date();
    return { size: row.size };
  }

  async unclaim(digest: string): Promise<void> {
    const row = this.blobs.get(digest);
    if (row && row.gc_claimed_at !== null) this.clear(row);
  }

  async linkedAmong(project: string, digests: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const digest of new Set(digests)) {
      const row = this.blobs.get(digest);
      if (row && this.links.rows.has(linkId(project, digest))) found.set(digest, row.size);
    }
    return found;
  }

  async hold(_tx: Tx, digests: string[]): Promise<string[]> {
    return [...new Set(digests)].sort().filter((d) => !this.trusted(d));
  }

  async lockClaimed(_tx: Tx, digest: string): Promise<boolean> {
    return (this.blobs.get(digest)?.gc_claimed_at ?? null) !== null;
  }

  async clearClaim(_tx: Tx, digest: string): Promise<void> {
    const row = this.blobs.get(digest);
    if (row) this.clear(row);
  }

  async recordBlob(_tx: Tx, digest: string, size: number): Promise<void> {
    const row = this.blobs.get(digest);
    const now = new Date();
    if (row) row.touched_at = now;
    else this.blobs.set(digest, { digest, size, created_at: now, touched_at: now, gc_claimed_at: null });
  }

  async link(_tx: Tx, project: string, digest: string): Promise<boolean> {
    // The SQL store's foreign key: a link names a recorded blob.
    if (!this.blobs.has(digest)) throw new Error(`blob ${digest} is not recorded`);
    const links = this.links;
    const id = linkId(project, digest);
    if (links.rows.has(id)) return false;
    links.rows.set(id, ++links.seq);
    return true;
  }

  /** What a collection's claim does to a blob row (src/gc), for tests. */
  markClaimed(digest: string): void {
    const row = this.blobs.get(digest);
    if (row) row.gc_claimed_at = new Date();
  }

  /** What a collection's delete does once the bytes are gone (src/gc), for tests. */
  markDeleted(digest: string): void {
    this.blobs.delete(digest);
    for (const id of [...this.links.rows.keys()]) if (id.endsWith(`\0${digest}`)) this.links.rows.delete(id);
  }

  private clear(row: BlobRow): void {
    row.gc_claimed_at = null;
    row.touched_at = new Date();
  }
}
