import type { Actor } from "../core/actor.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";

export type { AuditRecorder, AuditStore } from "../audit/ports.js";
export type { ProjectDirectory } from "../projects/ports.js";
import type { HistoryRecord } from "../environments/ports.js";

// ---------------------------------------------------------------- records

export type RolloutState = "running" | "paused" | "promoted" | "aborted";

export const LIVE_STATES = ["running", "paused"] as const;

export interface RolloutRecord {
  seq: number;
  project: string;
  id: string;
  environment: string;
  stable: string;
  candidate: string;
  /** The percent in hundredths (1 % = 100). */
  basis_points: number;
  allow: string[];
  state: RolloutState;
  auto: boolean;
  /** The environment revision written by the rollout's latest step. */
  revision: number;
  /** Evidence pack numbers reserved so far. */
  evidence_count: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  ended_at: Date | null;
  /** When the current percent took effect (start, then each advance): bake and pooling count from here. */
  step_started_at: Date;
  /** The latest resume: the "not enough traffic" deadline counts from the later of this and step_started_at. */
  resumed_at: Date | null;
}

export interface ObservationRecord {
  seq: number;
  project: string;
  id: string;
  environment: string;
  rollout_id: string;
  version_set: string;
  side: "stable" | "candidate";
  window_start: Date;
  window_end: Date;
  /** Flat metric name → a plain number or a sample form (rollouts/analysis/samples.ts). */
  metrics: Record<string, unknown>;
  requests: number | null;
  segments: Record<string, number> | null;
  sample_trace_ids: string[];
  created_by: string | null;
  trace_id: string | null;
  created_at: Date;
  source: "push" | "prometheus";
  /** The PromQL a `prometheus` observation was read with, by query key. */
  queries: Record<string, unknown> | null;
}

export type EvidenceTrigger = "manual" | "promoted" | "aborted";

export interface EvidenceRecord {
  seq: number;
  project: string;
  id: string;
  environment: string;
  rollout_id: string;
  trigger: EvidenceTrigger;
  location: string;
  files: Array<{ name: string; digest: string; size: number }>;
  manifest_digest: string;
  created_by: string | null;
  trace_id: string | null;
  created_at: Date;
}

export interface NewRollout {
  id: string;
  stable: string;
  candidate: string;
  basisPoints: number;
  allow: string[];
  auto: boolean;
  revision: number;
  createdBy: string;
}

export interface RolloutChange {
  state?: RolloutState;
  basisPoints?: number;
  revision: number;
  resumed?: boolean;
}

export interface NewObservation {
  id: string;
  rolloutId: string;
  versionSet: string;
  side: "stable" | "candidate";
  windowStart: Date;
  windowEnd: Date;
  metrics: Record<string, unknown>;
  requests?: number | undefined;
  segments?: Record<string, number> | undefined;
  sampleTraceIds: string[];
  source: "push" | "prometheus";
  queries: Record<string, unknown> | null;
  createdBy: string;
  traceId: string;
}

export interface NewEvidence {
  id: string;
  rolloutId: string;
  trigger: EvidenceTrigger;
  location: string;
  files: Array<{ name: string; digest: string; size: number }>;
  manifestDigest: string;
  createdBy: string;
  traceId: string | null;
}

/** A rollout step was decided on a row that another transaction has since changed. */
export class StaleRolloutError extends Error {
  constructor(
    readonly rolloutId: string,
    readonly revision: number,
  ) {
    super(`rollout ${rolloutId} is no longer at revision ${revision}`);
    this.name = "StaleRolloutError";
  }
}

// ---------------------------------------------------------------- this domain's stores

/** The rollouts table. Reads take the caller's transaction where a step must see its own writes. */
export interface RolloutStore {
  /** The running or paused rollout (at most one, by the partial unique index). */
  live(key: EnvironmentKey, tx?: Tx): Promise<RolloutRecord | undefined>;
  /** The most recent rollout (a live one is always the most recent: a new one starts only when none is live). */
  latest(key: EnvironmentKey, tx?: Tx): Promise<RolloutRecord | undefined>;
  find(project: string, id: string, tx?: Tx): Promise<RolloutRecord | undefined>;
  /** Rollouts of a project by id (missing ids are left out), in no particular order. */
  findMany(project: string, ids: readonly string[], tx?: Tx): Promise<RolloutRecord[]>;
  /** A new running rollout; created, updated and step-started at one instant. ConflictError when one is already live. */
  insert(tx: Tx, key: EnvironmentKey, row: NewRollout): Promise<RolloutRecord>;
  /**
   * Compare-and-set on the revision: the row changes only if it is still at `rollout.revision`,
   * else StaleRolloutError. A new percent restarts the step clock (except a promote); a resume
   * sets `resumed_at`; promoted/aborted set `ended_at`.
   */
  update(tx: Tx, rollout: Pick<RolloutRecord, "project" | "id" | "revision">, change: RolloutChange): Promise<RolloutRecord>;
  /** Running rollouts with `auto` on, in every project, oldest first. */
  runningAuto(): Promise<RolloutRecord[]>;
  /** Running rollouts (not paused) in every project, oldest first. */
  running(): Promise<RolloutRecord[]>;
  /**
   * Per environment the most recent rollout that is live or ended after `endedAfter`, ordered
   * by project then environment, at most `limit` environments (the dashboard's gauges).
   */
  recentPerEnvironment(endedAfter: Date, limit: number): Promise<RolloutRecord[]>;
  /** Reserves the next evidence pack number of a rollout (its own statement: numbers are never reused). */
  reserveEvidence(project: string, rolloutId: string): Promise<number>;
}

/** The rollout_observations table. */
export interface ObservationStore {
  insert(tx: Tx, key: EnvironmentKey, row: NewObservation): Promise<ObservationRecord>;
  /** Every observation of a rollout, most recent window first (ties: most recently recorded). */
  ofRollout(project: string, rolloutId: string, tx?: Tx): Promise<ObservationRecord[]>;
  /** Newest recorded first; `before` is a `seq` (the cursor). */
  list(key: EnvironmentKey, options: { before?: number; limit: number; rolloutId?: string }): Promise<ObservationRecord[]>;
  /** The candidate side's sample trace ids of a rollout, oldest observation first, each once. */
  candidateTraceIds(project: string, rolloutId: string, tx?: Tx): Promise<string[]>;
}

/** The gate_policies table: one stored policy (JSON) per environment. */
export interface GatePolicyStore {
  find(key: EnvironmentKey, tx?: Tx): Promise<unknown>;
  save(tx: Tx, key: EnvironmentKey, policy: unknown, updatedBy: string): Promise<void>;
}

/** The evidence_packs table (the packs' bytes live in the blob store). */
export interface EvidenceStore {
  /** ConflictError when the id is taken. */
  insert(tx: Tx, key: EnvironmentKey, row: NewEvidence): Promise<EvidenceRecord>;
  find(project: string, id: string): Promise<EvidenceRecord | undefined>;
  /** The packs of a rollout, oldest first. */
  ofRollout(project: string, rolloutId: string, tx?: Tx): Promise<EvidenceRecord[]>;
}

/** Every store of the rollouts domain, as app.ts builds them. */
export interface RolloutStores {
  rollouts: RolloutStore;
  observations: ObservationStore;
  policies: GatePolicyStore;
  evidence: EvidenceStore;
}

// ---------------------------------------------------------------- other domains

/** The environment row as a step locks it. */
export interface LockedEnvironmentRecord {
  name: string;
  active: string | null;
  revision: number;
  frozen: boolean;
  protected: boolean;
}

/** One entry of an environment's history, as the evidence pack shows it. */
export type { HistoryRecord as RolloutHistoryRecord } from "../environments/ports.js";

/** One environment revision a rollout step writes (environments/change.ts applies it). */
export interface RolloutEnvironmentChange {
  project: string;
  environment: string;
  action: string;
  reason?: string | null;
  detail?: unknown;
  active?: string;
  frozen?: boolean;
  refuseWhenFrozen?: boolean;
  pins?: string[];
}

/** A rollout, named by the environment it runs in. */
export interface RolloutOfEnvironment {
  project: string;
  environment: string;
  id: string;
}

/**
 * What rollouts reads from the environments domain (its EnvironmentStore satisfies it). Every
 * step, observation and gate change locks the environment row first, so they are serialized per
 * environment on any instance.
 */
export interface RolloutEnvironments {
  /** SELECT … FOR UPDATE of the environment row, for the rest of `tx`; undefined when there is none. */
  lockEnvironment(tx: Tx, key: EnvironmentKey): Promise<LockedEnvironmentRecord | undefined>;
  environmentExists(key: EnvironmentKey, tx?: Tx): Promise<boolean>;
  /** When each percent of a rollout took effect, oldest first: its start and every advance. */
  percentChanges(rollout: RolloutOfEnvironment, tx?: Tx): Promise<Array<{ at: Date; percent: number }>>;
  /** The history entries written by one rollout, oldest first. */
  historyOf(rollout: RolloutOfEnvironment, tx?: Tx): Promise<HistoryRecord[]>;
}

/** The one way an environment changes (the environments domain's EnvironmentChanger): pointer, history, NOTIFY and `environment.changed`, in `tx`. */
export interface RolloutEnvironmentChanges {
  apply(tx: Tx, actor: Actor, change: RolloutEnvironmentChange): Promise<{ revision: number }>;
}

/** Does the version set exist (read in the step's transaction: on PGlite a read outside it would wait for it). */
export interface VersionSetLookup {
  exists(tx: Tx, project: string, id: string): Promise<boolean>;
}

/** What evidence needs from version sets (VersionSetService satisfies it). */
export interface VersionSetEvidenceSource {
  get(project: string, id: string): Promise<unknown>;
  diff(project: string, from: string, to: string): Promise<unknown>;
}

/** The webhook outbox: an event enqueued in the step's transaction, delivered once it commits. */
export interface RolloutEvents {
  enqueue(tx: Tx, event: { project: string; event: "rollout.changed"; data: unknown }): Promise<unknown>;
}
