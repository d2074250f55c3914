import { compareCodeUnits } from "../core/compare.js";
import { ConflictError } from "../core/errors.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import {
  StaleRolloutError,
  type EvidenceRecord,
  type EvidenceStore,
  type GatePolicyStore,
  type NewEvidence,
  type NewObservation,
  type NewRollout,
  type ObservationRecord,
  type ObservationStore,
  type RolloutChange,
  type RolloutRecord,
  type RolloutStore,
  type RolloutStores,
} from "./ports.js";

/*
 * The rollouts domain's tables in memory, for service unit tests; kept honest by
 * test/contract/rollout-stores.ts. Rows go out as copies; JSON columns are round-tripped the way
 * jsonb is. Not modelled: row locks (memory transactions run one at a time).
 */

interface Table<R> {
  seq: number;
  rows: R[];
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const isLive = (r: RolloutRecord) => r.state === "running" || r.state === "paused";
const sameEnv = (key: EnvironmentKey) => (r: { project: string; environment: string }) => r.project === key.project && r.environment === key.environment;

export class MemoryRolloutStore implements RolloutStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): Table<RolloutRecord> {
    return this.tables.table<Table<RolloutRecord>>("rollouts", () => ({ seq: 0, rows: [] }));
  }

  async live(key: EnvironmentKey): Promise<RolloutRecord | undefined> {
    const row = this.table.rows.find((r) => sameEnv(key)(r) && isLive(r));
    return row && structuredClone(row);
  }

  async latest(key: EnvironmentKey): Promise<RolloutRecord | undefined> {
    const row = this.table.rows.filter(sameEnv(key)).at(-1);
    return row && structuredClone(row);
  }

  async find(project: string, id: string): Promise<RolloutRecord | undefined> {
    const row = this.table.rows.find((r) => r.project === project && r.id === id);
    return row && structuredClone(row);
  }

  async findMany(project: string, ids: readonly string[]): Promise<RolloutRecord[]> {
    return this.table.rows.filter((r) => r.project === project && ids.includes(r.id)).map((r) => structuredClone(r));
  }

  async insert(_tx: Tx, key: EnvironmentKey, row: NewRollout): Promise<RolloutRecord> {
    const table = this.table;
    if (table.rows.some((r) => (sameEnv(key)(r) && isLive(r)) || (r.project === key.project && r.id === row.id))) {
      throw new ConflictError(`A rollout is already live on environment ${key.environment}, or rollout ${row.id} exists`);
    }
    const now = new Date();
    const record: RolloutRecord = {
      seq: ++table.seq,
      project: key.project,
      id: row.id,
      environment: key.environment,
      stable: row.stable,
      candidate: row.candidate,
      basis_points: row.basisPoints,
      allow: [...row.allow],
      state: "running",
      auto: row.auto,
      revision: row.revision,
      evidence_count: 0,
      created_by: row.createdBy,
      created_at: now,
      updated_at: now,
      ended_at: null,
      step_started_at: now,
      resumed_at: null,
    };
    table.rows.push(record);
    return structuredClone(record);
  }

  async update(_tx: Tx, rollout: Pick<RolloutRecord, "project" | "id" | "revision">, change: RolloutChange): Promise<RolloutRecord> {
    const row = this.table.rows.find((r) => r.project === rollout.project && r.id === rollout.id && r.revision === rollout.revision);
    if (!row) throw new StaleRolloutError(rollout.id, rollout.revision);
    const now = new Date();
    row.revision = change.revision;
    row.updated_at = now;
    if (change.state !== undefined) row.state = change.state;
    if (change.basisPoints !== undefined) {
      row.basis_points = change.basisPoints;
      if (change.state !== "promoted") row.step_started_at = now;
    }
    if (change.resumed) row.resumed_at = now;
    if (change.state === "promoted" || change.state === "aborted") row.ended_at = now;
    return structuredClone(row);
  }

  async runningAuto(): Promise<RolloutRecord[]> {
    return this.table.rows.filter((r) => r.state === "running" && r.auto).map((r) => structuredClone(r));
  }

  async running(): Promise<RolloutRecord[]> {
    return this.table.rows.filter((r) => r.state === "running").map((r) => structuredClone(r));
  }

  async recentPerEnvironment(endedAfter: Date, limit: number): Promise<RolloutRecord[]> {
    const newest = new Map<string, RolloutRecord>();
    for (const r of this.table.rows) {
      if (isLive(r) || (r.ended_at !== null && r.ended_at > endedAfter)) newest.set(JSON.stringify([r.project, r.environment]), r);
    }
    return [...newest.values()]
      .sort((a, b) => compareCodeUnits(a.project, b.project) || compareCodeUnits(a.environment, b.environment))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async reserveEvidence(project: string, rolloutId: string): Promise<number> {
    const row = this.table.rows.find((r) => r.project === project && r.id === rolloutId);
    if (!row) throw new Error(`no rollout ${rolloutId} in project ${project}`);
    return ++row.evidence_count;
  }
}

export class MemoryObservationStore implements ObservationStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): Table<ObservationRecord> {
    return this.tables.table<Table<ObservationRecord>>("rollout_observations", () => ({ seq: 0, rows: [] }));
  }

  async insert(_tx: Tx, key: EnvironmentKey, row: NewObservation): Promise<ObservationRecord> {
    const table = this.table;
    const record: ObservationRecord = {
      seq: ++table.seq,
      project: key.project,
      id: row.id,
      environment: key.environment,
      rollout_id: row.rolloutId,
      version_set: row.versionSet,
      side: row.side,
      window_start: new Date(row.windowStart),
      window_end: new Date(row.windowEnd),
      metrics: json(row.metrics),
      requests: row.requests ?? null,
      segments: row.segments === undefined ? null : json(row.segments),
      sample_trace_ids: [...row.sampleTraceIds],
      created_by: row.createdBy,
      trace_id: row.traceId,
      created_at: new Date(),
      source: row.source,
      queries: row.queries === null ? null : json(row.queries),
    };
    table.rows.push(record);
    return structuredClone(record);
  }

  async ofRollout(project: string, rolloutId: string): Promise<ObservationRecord[]> {
    return this.table.rows
      .filter((r) => r.project === project && r.rollout_id === rolloutId)
      .sort((a, b) => b.window_end.getTime() - a.window_end.getTime() || b.seq - a.seq)
      .map((r) => structuredClone(r));
  }

  async list(key: EnvironmentKey, options: { before?: number; limit: number; rolloutId?: string }): Promise<ObservationRecord[]> {
    return this.table.rows
      .filter((r) => sameEnv(key)(r) && (options.rolloutId === undefined || r.rollout_id === options.rolloutId) && (options.before === undefined || r.seq < options.before))
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((r) => structuredClone(r));
  }

  async candidateTraceIds(project: string, rolloutId: string): Promise<string[]> {
    const rows = this.table.rows.filter((r) => r.project === project && r.rollout_id === rolloutId && r.side === "candidate");
    return [...new Set(rows.flatMap((r) => r.sample_trace_ids))];
  }
}

interface PolicyRow {
  key: EnvironmentKey;
  policy: unknown;
  updated_by: string;
  updated_at: Date;
}

export class MemoryGatePolicyStore implements GatePolicyStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): Map<string, PolicyRow> {
    return this.tables.table<Map<string, PolicyRow>>("gate_policies", () => new Map());
  }

  async find(key: EnvironmentKey): Promise<unknown> {
    const row = this.table.get(JSON.stringify([key.project, key.environment]));
    return row === undefined ? undefined : json(row.policy);
  }

  async save(_tx: Tx, key: EnvironmentKey, policy: unknown, updatedBy: string): Promise<void> {
    this.table.set(JSON.stringify([key.project, key.environment]), { key: { ...key }, policy: json(policy), updated_by: updatedBy, updated_at: new Date() });
  }
}

export class MemoryEvidenceStore implements EvidenceStore {
  constructor(private readonly tables: MemoryTables) {}

  private get table(): Table<EvidenceRecord> {
    return this.tables.table<Table<EvidenceRecord>>("evidence_packs", () => ({ seq: 0, rows: [] }));
  }

  async insert(_tx: Tx, key: EnvironmentKey, row: NewEvidence): Promise<EvidenceRecord> {
    const table = this.table;
    if (table.rows.some((r) => r.project === key.project && r.id === row.id)) {
      throw new ConflictError(`Evidence pack ${row.id} already exists in project ${key.project}`);
    }
    const record: EvidenceRecord = {
      seq: ++table.seq,
      project: key.project,
      id: row.id,
      environment: key.environment,
      rollout_id: row.rolloutId,
      trigger: row.trigger,
      location: row.location,
      files: json(row.files),
      manifest_digest: row.manifestDigest,
      created_by: row.createdBy,
      trace_id: row.traceId,
      created_at: new Date(),
    };
    table.rows.push(record);
    return structuredClone(record);
  }

  async find(project: string, id: string): Promise<EvidenceRecord | undefined> {
    const row = this.table.rows.find((r) => r.project === project && r.id === id);
    return row && structuredClone(row);
  }

  async ofRollout(project: string, rolloutId: string): Promise<EvidenceRecord[]> {
    return this.table.rows.filter((r) => r.project === project && r.rollout_id === rolloutId).map((r) => structuredClone(r));
  }
}

/** Every rollouts store over one set of memory tables. */
export function memoryRolloutStores(tables: MemoryTables): RolloutStores {
  return {
    rollouts: new MemoryRolloutStore(tables),
    observations: new MemoryObservationStore(tables),
    policies: new MemoryGatePolicyStore(tables),
    evidence: new MemoryEvidenceStore(tables),
  };
}
