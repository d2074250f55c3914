import type { EnvironmentKey } from "../core/environment-key.js";
import type { Tx } from "../core/transaction.js";

export type { AuditRecorder as IncidentAudit } from "../audit/ports.js";
export type { EventOutbox as IncidentOutbox } from "../webhooks/ports.js";
export type { ProjectDirectory } from "../projects/ports.js";

export type IncidentKey = EnvironmentKey;
export type IncidentState = "open" | "mitigated" | "closed";
export type Severity = "sev1" | "sev2" | "sev3";

export interface IncidentNote {
  at: string;
  author: string;
  text: string;
}

export interface Mitigation {
  action: string;
  revision: number;
}

export interface IncidentRecord {
  seq: number;
  id: string;
  project: string;
  environment: string;
  state: IncidentState;
  severity: Severity;
  summary: string;
  opened_at: Date;
  opened_by: string;
  rollout: string | null;
  stable: string | null;
  sample_trace_ids: string[];
  detected_at: Date;
  mitigated_at: Date | null;
  mitigated_by: Mitigation | null;
  notes: IncidentNote[];
  closed_at: Date | null;
  closed_by: string | null;
  resolution: unknown;
  regression_set: string | null;
}

export interface NewIncident {
  id: string;
  severity: Severity;
  summary: string;
  openedBy: string;
  rollout: string | null;
  stable: string | null;
  sampleTraceIds: string[];
  /** Set when the change that opened it also stopped the loss (a gate abort, a degrade). */
  mitigated?: Mitigation;
  note?: IncidentNote;
}

/**
 * The incidents table. At most one incident per environment is not closed (the partial unique
 * index incidents_one_open): `insertIfNoneOpen` answers undefined when another one is, and the
 * caller links to it instead. Every write happens in the caller's transaction.
 */
export interface IncidentStore {
  find(project: string, id: string, tx?: Tx): Promise<IncidentRecord | undefined>;
  /** The incident, row-locked for the transaction. */
  findForUpdate(tx: Tx, project: string, id: string): Promise<IncidentRecord | undefined>;
  /** The environment's incident that is not closed, row-locked for the transaction. */
  openFor(tx: Tx, key: IncidentKey): Promise<IncidentRecord | undefined>;
  /** The first incident that names the rollout. */
  byRollout(project: string, rollout: string, tx?: Tx): Promise<{ id: string } | undefined>;
  /** Newest first; `before` is a seq (the cursor). */
  list(project: string, options: { state?: IncidentState; notClosed?: boolean; environment?: string; before?: number; limit: number }): Promise<IncidentRecord[]>;
  insertIfNoneOpen(tx: Tx, key: IncidentKey, input: NewIncident): Promise<IncidentRecord | undefined>;
  appendNote(tx: Tx, row: IncidentRecord, note: IncidentNote): Promise<IncidentRecord>;
  /** Links a rollout (when none yet), merges trace ids, and marks it mitigated (when still open). */
  link(tx: Tx, row: IncidentRecord, input: { rollout?: string | null; sampleTraceIds?: string[]; mitigated?: Mitigation; stable?: string | null }): Promise<IncidentRecord>;
  close(tx: Tx, row: IncidentRecord, input: { closedBy: string; regressionSet: string | null; resolution: object }): Promise<IncidentRecord>;
}

/** What incidents read of an environment: its active set, row-locked so a deploy waits for the opening. */
export interface IncidentEnvironments {
  lockActive(tx: Tx, key: IncidentKey): Promise<{ active: string | null } | undefined>;
}

/** What incidents read of rollouts, observations and evidence packs. */
export interface IncidentRollouts {
  /** The environment's running or paused rollout. */
  liveRollout(tx: Tx, key: IncidentKey): Promise<{ id: string } | undefined>;
  /** The candidate side's sample trace ids of a rollout's observations, oldest first, once each. */
  candidateTraceIds(tx: Tx, project: string, rollout: string): Promise<string[]>;
  /** Evidence packs of the rollout, oldest first. */
  evidenceOf(project: string, rollout: string): Promise<Array<{ id: string; created_at: Date }>>;
}
