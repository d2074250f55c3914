import { randomBytes } from "node:crypto";
import { ConflictError } from "../core/errors.js";
import type { MemoryTables } from "../core/memory-tables.js";
import type { Tx } from "../core/transaction.js";
import type { GcRunRecord, GcStore } from "./ports.js";
import { DEFAULT_RETENTION, type Retention } from "./settings.js";

interface GcTables {
  seq: number;
  retention: Map<string, Retention>;
  runs: GcRunRecord[];
}

const INTERRUPTED = "the process running it stopped (no heartbeat within the lease)";

/** Retention settings and runs in memory, for unit tests; kept honest by test/contract/gc-store.ts. */
export class MemoryGcStore implements GcStore {
  constructor(private readonly tables: MemoryTables) {}

  private get t(): GcTables {
    return this.tables.table<GcTables>("gc", () => ({ seq: 0, retention: new Map(), runs: [] }));
  }

  async retention(project: string): Promise<Retention> {
    return { ...(this.t.retention.get(project) ?? DEFAULT_RETENTION) };
  }

  async setRetention(_tx: Tx, project: string, value: Retention): Promise<void> {
    this.t.retention.set(project, { days: value.days, keep_last: value.keep_last });
  }

  async startRun(input: { project: string | null; dryRun: boolean; trigger: "api" | "schedule"; actor: string | null; leaseMs: number }): Promise<GcRunRecord> {
    const t = this.t;
    const now = new Date();
    for (const run of t.runs) {
      if (run.state === "running" && run.heartbeat_at.getTime() < now.getTime() - input.leaseMs) Object.assign(run, { state: "interrupted", finished_at: now, error: INTERRUPTED });
    }
    if (t.runs.some((r) => r.state === "running")) throw new ConflictError("A garbage collection is already running");
    const run: GcRunRecord = {
      seq: ++t.seq,
      id: `gc_${randomBytes(12).toString("hex")}`,
      project: input.project,
      dry_run: input.dryRun,
      state: "running",
      trigger: input.trigger,
      actor: input.actor,
      started_at: now,
      heartbeat_at: now,
      finished_at: null,
      report: null,
      error: null,
    };
    t.runs.push(run);
    return structuredClone(run);
  }

  async heartbeat(id: string): Promise<void> {
    const run = this.t.runs.find((r) => r.id === id && r.state === "running");
    if (run) run.heartbeat_at = new Date();
  }

  async finishRun(id: string, outcome: { state: "finished" | "failed"; report?: unknown; error?: string }): Promise<GcRunRecord> {
    const run = this.t.runs.find((r) => r.id === id);
    if (!run) throw new Error(`no gc run ${id}`);
    Object.assign(run, { state: outcome.state, finished_at: new Date(), report: outcome.report === undefined ? null : JSON.parse(JSON.stringify(outcome.report)), error: outcome.error ?? null });
    return structuredClone(run);
  }

  async listRuns(options: { before?: number; limit: number }): Promise<GcRunRecord[]> {
    return this.t.runs
      .filter((r) => options.before === undefined || r.seq < options.before)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, options.limit)
      .map((r) => structuredClone(r));
  }
}
