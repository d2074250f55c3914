import { compareCodeUnits } from "../core/compare.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import { RUNS_KEPT, type AnalysisConfigRecord, type AnalysisRunRecord, type AnalysisStore, type ClaimSeen, type NewRun } from "./ports.js";

interface AnalysisTables {
  configs: Map<string, AnalysisConfigRecord>;
  runSeq: number;
  runs: AnalysisRunRecord[];
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const keyOf = (key: EnvironmentKey) => JSON.stringify([key.project, key.environment]);
const sameTime = (a: Date | null, b: Date | null) => (a === null || b === null ? a === b : a.getTime() === b.getTime());

/** Analysis configs and runs in memory, for service unit tests; kept honest by test/contract/analysis-store.ts. */
export class MemoryAnalysisStore implements AnalysisStore {
  constructor(private readonly tables: MemoryTables) {}

  private get t(): AnalysisTables {
    return this.tables.table<AnalysisTables>("analysis", () => ({ configs: new Map(), runSeq: 0, runs: [] }));
  }

  async config(key: EnvironmentKey): Promise<AnalysisConfigRecord | undefined> {
    const row = this.t.configs.get(keyOf(key));
    return row && structuredClone(row);
  }

  async saveConfig(_tx: Tx, key: EnvironmentKey, stored: unknown, by: string): Promise<void> {
    const existing = this.t.configs.get(keyOf(key));
    this.t.configs.set(keyOf(key), {
      project: key.project,
      environment: key.environment,
      config: json(stored),
      updated_by: by,
      updated_at: new Date(),
      last_rollout: existing?.last_rollout ?? null,
      last_window_end: existing?.last_window_end ?? null,
      consecutive_errors: existing?.consecutive_errors ?? 0,
    });
  }

  async deleteConfig(_tx: Tx, key: EnvironmentKey): Promise<boolean> {
    return this.t.configs.delete(keyOf(key));
  }

  async configsOf(keys: readonly EnvironmentKey[], limit: number): Promise<AnalysisConfigRecord[]> {
    const wanted = new Set(keys.map(keyOf));
    return [...this.t.configs.values()]
      .filter((c) => wanted.has(keyOf(c)))
      .sort((a, b) => compareCodeUnits(a.project, b.project) || compareCodeUnits(a.environment, b.environment))
      .slice(0, limit)
      .map((c) => structuredClone(c));
  }

  async claim(key: EnvironmentKey, seen: ClaimSeen, next: { rolloutId: string; windowEnd: Date }): Promise<boolean> {
    const row = this.t.configs.get(keyOf(key));
    if (!row || row.last_rollout !== seen.lastRollout || !sameTime(row.last_window_end, seen.lastWindowEnd)) return false;
    if (seen.lastRollout !== next.rolloutId) row.consecutive_errors = 0;
    row.last_rollout = next.rolloutId;
    row.last_window_end = new Date(next.windowEnd);
    return true;
  }

  async countRun(key: EnvironmentKey, rolloutId: string, failed: boolean): Promise<number | undefined> {
    const row = this.t.configs.get(keyOf(key));
    if (!row || row.last_rollout !== rolloutId) return undefined;
    row.consecutive_errors = failed ? row.consecutive_errors + 1 : 0;
    return row.consecutive_errors;
  }

  async insertRun(key: EnvironmentKey, run: NewRun): Promise<AnalysisRunRecord> {
    const t = this.t;
    const row: AnalysisRunRecord = {
      seq: ++t.runSeq,
      project: key.project,
      environment: key.environment,
      rollout_id: run.rolloutId,
      window_start: new Date(run.windowStart),
      window_end: new Date(run.windowEnd),
      status: run.status,
      duration_ms: Math.max(0, Math.round(run.durationMs)),
      errors: json(run.errors),
      warnings: json(run.warnings),
      notes: json(run.notes),
      observations: json(run.observations),
      action: run.action,
      created_at: new Date(),
    };
    t.runs.push(row);
    t.runs = t.runs.filter((r) => r.project !== key.project || r.environment !== key.environment || r.seq > row.seq - RUNS_KEPT);
    return structuredClone(row);
  }

  async runs(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<AnalysisRunRecord[]> {
    return this.t.runs
      .filter((r) => r.project === key.project && r.environment === key.environment && (options.before === undefined || r.seq < options.before))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((r) => structuredClone(r));
  }
}
