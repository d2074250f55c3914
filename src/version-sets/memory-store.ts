import { ConflictError } from "../core/errors.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { NewVersionSet, VersionSetRecord, VersionSetStore } from "./ports.js";

interface VersionSetTable {
  seq: number;
  /** `project` NUL `id` → row. */
  rows: Map<string, VersionSetRecord>;
}

const rowId = (project: string, id: string): string => `${project}\0${id}`;

/** Version sets in memory, for service unit tests; kept honest by test/contract/version-set-store.ts. */
export class MemoryVersionSetStore implements VersionSetStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): VersionSetTable {
    return this.tables.table<VersionSetTable>("version_sets", () => ({ seq: 0, rows: new Map() }));
  }

  async find(project: string, id: string): Promise<VersionSetRecord | undefined> {
    const row = this.table.rows.get(rowId(project, id));
    return row && structuredClone(row);
  }

  async findMany(project: string, ids: readonly string[]): Promise<VersionSetRecord[]> {
    const rows = this.table.rows;
    return [...new Set(ids)].flatMap((id) => {
      const row = rows.get(rowId(project, id));
      return row ? [structuredClone(row)] : [];
    });
  }

  async existingIds(project: string, ids: readonly string[]): Promise<string[]> {
    return [...new Set(ids)].filter((id) => this.table.rows.has(rowId(project, id)));
  }

  async exists(project: string, id: string): Promise<boolean> {
    return this.table.rows.has(rowId(project, id));
  }

  async list(project: string, options: { before?: number; limit: number }): Promise<VersionSetRecord[]> {
    return [...this.table.rows.values()]
      .filter((r) => r.project === project && (options.before === undefined || r.seq < options.before))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((r) => structuredClone(r));
  }

  async insert(_tx: Tx, row: NewVersionSet): Promise<VersionSetRecord> {
    const table = this.table;
    const id = rowId(row.project, row.id);
    if (table.rows.has(id)) throw new ConflictError(`Version set ${row.id} already exists in project ${row.project}`);
    const record: VersionSetRecord = {
      seq: ++table.seq,
      project: row.project,
      id: row.id,
      // Stored as jsonb, read back parsed.
      components: JSON.parse(JSON.stringify(row.components)) as VersionSetRecord["components"],
      code: row.code === null ? null : { repo: row.code.repo, commit: row.code.commit },
      description: row.description,
      created_by: row.createdBy,
      created_at: new Date(),
    };
    table.rows.set(id, record);
    return structuredClone(record);
  }
}
