import type { Actor } from "../core/actor.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Principal } from "../core/principal.js";
import type { Tx } from "../core/transaction.js";
import type { AnalysisErrorRecord } from "./evaluate.js";

export type { AuditRecorder } from "../audit/ports.js";

export interface AnalysisConfigRecord {
  project: string;
  environment: string;
  config: unknown;
  updated_by: string | null;
  updated_at: Date;
  last_rollout: string | null;
  last_window_end: Date | null;
  consecutive_errors: number;
}

/** Where the loop's claim stood when it was read: the compare half of compare-and-set. */
export interface ClaimSeen {
  lastRollout: string | null;
  lastWindowEnd: Date | null;
}

export interface NewRun {
  rolloutId: string;
  windowStart: Date;
  windowEnd: Date;
  status: "ok" | "partial" | "failed";
  durationMs: number;
  errors: AnalysisErrorRecord[];
  warnings: string[];
  notes: string[];
  observations: Record<string, string>;
  action: string | null;
}

export interface AnalysisRunRecord {
  seq: number;
  project: string;
  environment: string;
  rollout_id: string;
  window_start: Date;
  window_end: Date;
  status: "ok" | "partial" | "failed";
  duration_ms: number;
  errors: unknown[];
  warnings: string[];
  notes: string[];
  observations: Record<string, string>;
  action: string | null;
  created_at: Date;
}

/**
 * Runs kept per environment: a day and more at the shortest sensible interval (60 s), weeks at
 * the default queries' pace. seq is global, so this keeps at most, not exactly, that many.
 */
export const RUNS_KEPT = 2_000;

/** The analysis_configs and analysis_runs tables. */
export interface AnalysisStore {
  config(key: EnvironmentKey, tx?: Tx): Promise<AnalysisConfigRecord | undefined>;
  /** Inserts or replaces the config; the loop's claim and error count stay as they are. */
  saveConfig(tx: Tx, key: EnvironmentKey, stored: unknown, by: string): Promise<void>;
  deleteConfig(tx: Tx, key: EnvironmentKey): Promise<boolean>;
  /** The configs of these environments, by project then environment, at most `limit`. */
  configsOf(keys: readonly EnvironmentKey[], limit: number): Promise<AnalysisConfigRecord[]>;
  /**
   * Moves the claim from `seen` to (rollout, windowEnd) if nobody moved it since it was read:
   * true for exactly one of any number of instances racing for the same window. A new rollout
   * starts its error count at zero.
   */
  claim(key: EnvironmentKey, seen: ClaimSeen, next: { rolloutId: string; windowEnd: Date }): Promise<boolean>;
  /** Counts a run of `rolloutId` (an error run adds one, a clean run resets); the new count, or undefined when the config went away or moved on. */
  countRun(key: EnvironmentKey, rolloutId: string, failed: boolean): Promise<number | undefined>;
  /** Records a run and forgets the environment's runs beyond the most recent RUNS_KEPT. */
  insertRun(key: EnvironmentKey, run: NewRun): Promise<AnalysisRunRecord>;
  /** Runs of an environment, most recent first; `before` is a `seq`. */
  runs(key: EnvironmentKey, options: { before?: number; limit: number }): Promise<AnalysisRunRecord[]>;
}

/** A running rollout, as the analysis loop needs it. */
export interface RunningRollout {
  project: string;
  environment: string;
  id: string;
  stable: string;
  candidate: string;
  created_at: Date;
}

/** What analysis needs from the rollouts domain (RolloutService satisfies it). */
export interface AnalysisRollouts {
  /** Running rollouts (paused ones are not read), in every project. */
  running(): Promise<RunningRollout[]>;
  /** One transaction holding the environment row lock, after the deploy-scope check; 404 for a missing environment. */
  withEnvironmentLocked<T>(principal: Principal | undefined, key: EnvironmentKey, work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Pauses the rollout if it is still the running one; true when it did. */
  pauseIfRunning(actor: Actor, key: EnvironmentKey, rolloutId: string, input: { reason: string; detail: object }): Promise<boolean>;
}
