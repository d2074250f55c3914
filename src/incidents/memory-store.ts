import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { IncidentKey, IncidentNote, IncidentRecord, IncidentState, IncidentStore, Mitigation, NewIncident } from "./ports.js";

interface IncidentTable {
  seq: number;
  rows: IncidentRecord[];
}

/**
 * Incidents in memory, for service unit tests; kept honest by test/contract/incident-store.ts.
 * The one-open-incident rule is checked here as the partial unique index checks it; row locks
 * are not modelled (one transaction at a time).
 */
export class MemoryIncidentStore implements IncidentStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): IncidentTable {
    return this.tables.table<IncidentTable>("incidents", () => ({ seq: 0, rows: [] }));
  }

  private row(project: string, id: string): IncidentRecord | undefined {
    return this.table.rows.find((r) => r.project === project && r.id === id);
  }

  async find(project: string, id: string): Promise<IncidentRecord | undefined> {
    const row = this.row(project, id);
    return row && structuredClone(row);
  }

  findForUpdate(_tx: Tx, project: string, id: string): Promise<IncidentRecord | undefined> {
    return this.find(project, id);
  }

  async openFor(_tx: Tx, key: IncidentKey): Promise<IncidentRecord | undefined> {
    const row = this.table.rows.find((r) => r.project === key.project && r.environment === key.environment && r.state !== "closed");
    return row && structuredClone(row);
  }

  async byRollout(project: string, rollout: string): Promise<{ id: string } | undefined> {
    const row = this.table.rows.filter((r) => r.project === project && r.rollout === rollout).sort((a, b) => a.seq - b.seq)[0];
    return row && { id: row.id };
  }

  async list(project: string, options: { state?: IncidentState; notClosed?: boolean; environment?: string; before?: number; limit: number }): Promise<IncidentRecord[]> {
    return this.table.rows
      .filter(
        (r) =>
          r.project === project &&
          (!options.state || r.state === options.state) &&
          (!options.notClosed || r.state !== "closed") &&
          (!options.environment || r.environment === options.environment) &&
          (options.before === undefined || r.seq < options.before),
      )
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((r) => structuredClone(r));
  }

  async insertIfNoneOpen(tx: Tx, key: IncidentKey, input: NewIncident): Promise<IncidentRecord | undefined> {
    if (await this.openFor(tx, key)) return undefined;
    const table = this.table;
    const now = new Date();
    const row: IncidentRecord = {
      seq: ++table.seq,
      id: input.id,
      project: key.project,
      environment: key.environment,
      state: input.mitigated ? "mitigated" : "open",
      severity: input.severity,
      summary: input.summary,
      opened_at: now,
      opened_by: input.openedBy,
      rollout: input.rollout,
      stable: input.stable,
      sample_trace_ids: [...input.sampleTraceIds],
      detected_at: now,
      mitigated_at: input.mitigated ? now : null,
      mitigated_by: input.mitigated ? { ...input.mitigated } : null,
      notes: input.note ? [{ ...input.note }] : [],
      closed_at: null,
      closed_by: null,
      resolution: null,
      regression_set: null,
    };
    table.rows.push(row);
    return structuredClone(row);
  }

  private update(row: IncidentRecord, change: (stored: IncidentRecord) => void): IncidentRecord {
    const stored = this.row(row.project, row.id);
    if (!stored) throw new Error(`no incident ${row.id}`);
    change(stored);
    return structuredClone(stored);
  }

  async appendNote(_tx: Tx, row: IncidentRecord, note: IncidentNote): Promise<IncidentRecord> {
    return this.update(row, (stored) => void stored.notes.push({ ...note }));
  }

  async link(_tx: Tx, row: IncidentRecord, input: { rollout?: string | null; sampleTraceIds?: string[]; mitigated?: Mitigation; stable?: string | null }): Promise<IncidentRecord> {
    // Decided on the row as the caller read it, like the SQL store's update.
    const traces = [...new Set([...row.sample_trace_ids, ...(input.sampleTraceIds ?? [])])];
    const mitigate = input.mitigated !== undefined && row.state === "open";
    return this.update(row, (stored) => {
      stored.sample_trace_ids = traces;
      if (row.rollout === null && input.rollout) stored.rollout = input.rollout;
      if (mitigate) Object.assign(stored, { state: "mitigated", mitigated_at: new Date(), mitigated_by: { ...input.mitigated! } });
      if (input.stable !== undefined && (mitigate || row.stable === null)) stored.stable = input.stable;
    });
  }

  async close(_tx: Tx, row: IncidentRecord, input: { closedBy: string; regressionSet: string | null; resolution: object }): Promise<IncidentRecord> {
    return this.update(row, (stored) =>
      Object.assign(stored, { state: "closed", closed_at: new Date(), closed_by: input.closedBy, regression_set: input.regressionSet, resolution: JSON.parse(JSON.stringify(input.resolution)) }),
    );
  }
}
