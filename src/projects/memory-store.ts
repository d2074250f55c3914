import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { ProjectRecord, ProjectStore } from "./ports.js";

interface ProjectTable {
  seq: number;
  rows: Map<string, ProjectRecord>;
}

/** Projects in memory, for service unit tests; kept honest by test/contract/project-store.ts. */
export class MemoryProjectStore implements ProjectStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): ProjectTable {
    return this.tables.table<ProjectTable>("projects", () => ({ seq: 0, rows: new Map() }));
  }

  async find(name: string): Promise<ProjectRecord | undefined> {
    const row = this.table.rows.get(name);
    return row && { ...row };
  }

  async insertIfAbsent(_tx: Tx, name: string, description: string | null): Promise<ProjectRecord | undefined> {
    const table = this.table;
    if (table.rows.has(name)) return undefined;
    const row = { seq: ++table.seq, name, description, created_at: new Date() };
    table.rows.set(name, row);
    return { ...row };
  }

  async list(options: { names: "*" | readonly string[]; before?: number; limit: number }): Promise<ProjectRecord[]> {
    return [...this.table.rows.values()]
      .filter((r) => (options.names === "*" || options.names.includes(r.name)) && (options.before === undefined || r.seq < options.before))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((r) => ({ ...r }));
  }
}
