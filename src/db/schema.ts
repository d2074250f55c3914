import type { ColumnType, Generated } from "kysely";

/**
 * Kysely's view of the tables. Each migration that adds a table adds its interface here.
 * bigint columns are parsed to numbers at the connection (see connect.ts): every id and size
 * we store stays below 2^53.
 */

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface ProjectsTable {
  seq: Generated<number>;
  name: string;
  description: string | null;
  created_at: CreatedAt;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: CreatedAt;
  /** Last upload or link of the bytes; a blob touched within the grace period is never collected. */
  touched_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Set by a collection before it deletes the bytes: from then on they are not trusted. */
  gc_claimed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface BlobLinksTable {
  seq: Generated<number>;
  project: string;
  digest: string;
  created_at: CreatedAt;
}

export interface ArtifactsTable {
  seq: Generated<number>;
  project: string;
  kind: string;
  name: string;
  version: number;
  digest: string;
  size: number;
  content: string;
  annotations: ColumnType<Record<string, string>, string, string>;
  created_by: string | null;
  created_at: CreatedAt;
  retired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** The blobs an artifact version references (index files); see migrations/0007_gc.sql. */
export interface ArtifactBlobsTable {
  project: string;
  kind: string;
  name: string;
  version: number;
  digest: string;
}

export interface RetentionSettingsTable {
  project: string;
  days: number;
  keep_last: number;
  updated_by: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface GcRunsTable {
  seq: Generated<number>;
  id: string;
  project: string | null;
  dry_run: boolean;
  state: "running" | "finished" | "failed" | "interrupted";
  trigger: "api" | "schedule";
  actor: string | null;
  started_at: CreatedAt;
  heartbeat_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: Date | null;
  report: ColumnType<unknown, string | null | undefined, string | null>;
  error: string | null;
}

export interface TokensTable {
  seq: Generated<number>;
  id: string;
  name: string;
  secret_hash: string;
  scopes: string[];
  projects: string[];
  environments: string[] | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_by: string | null;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  seq: Generated<number>;
  project: string | null;
  at: CreatedAt;
  actor: string;
  actor_token_id: string | null;
  action: string;
  target: string;
  before: ColumnType<unknown, string | null, never>;
  after: ColumnType<unknown, string | null, never>;
  trace_id: string | null;
  client_address: string | null;
}

export interface PinnedComponentJson {
  kind: string;
  name: string;
  version: number;
  digest: string;
}

export interface VersionSetsTable {
  seq: Generated<number>;
  project: string;
  id: string;
  components: ColumnType<Record<string, PinnedComponentJson>, string, never>;
  code: ColumnType<{ repo: string; commit: string } | null, string | null, never>;
  description: string | null;
  created_by: string | null;
  created_at: CreatedAt;
}

export interface EnvironmentsTable {
  seq: Generated<number>;
  project: string;
  name: string;
  active: string | null;
  revision: Generated<number>;
  protected: Generated<boolean>;
  frozen: Generated<boolean>;
  /** The set `degrade` switches to (null: none named). */
  fallback: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface EnvironmentHistoryTable {
  project: string;
  environment: string;
  revision: number;
  action: string;
  version_set: string | null;
  previous: string | null;
  actor: string;
  actor_token_id: string | null;
  reason: string | null;
  trace_id: string | null;
  detail: ColumnType<unknown, string | null, never>;
  at: CreatedAt;
}

export interface RolloutsTable {
  seq: Generated<number>;
  project: string;
  id: string;
  environment: string;
  stable: string;
  candidate: string;
  /** The percent in hundredths (1 % = 100). */
  basis_points: number;
  allow: string[];
  state: "running" | "paused" | "promoted" | "aborted";
  auto: boolean;
  revision: number;
  evidence_count: Generated<number>;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  ended_at: Date | null;
  /** When the current percent took effect (start, then each advance): bake and pooling count from here. */
  step_started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** The latest resume: the "not enough traffic" deadline counts from the later of this and step_started_at. */
  resumed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface RolloutObservationsTable {
  seq: Generated<number>;
  project: string;
  id: string;
  environment: string;
  rollout_id: string;
  version_set: string;
  side: "stable" | "candidate";
  window_start: ColumnType<Date, Date | string, never>;
  window_end: ColumnType<Date, Date | string, never>;
  /** Flat metric name → a plain number or a sample form (rollouts/analysis/samples.ts). */
  metrics: ColumnType<Record<string, unknown>, string, never>;
  /** Requests this set served in the window, when reported. */
  requests: ColumnType<number | null, number | null | undefined, never>;
  /** Segment name → requests of the window in it, when reported. */
  segments: ColumnType<Record<string, number> | null, string | null | undefined, never>;
  sample_trace_ids: string[];
  created_by: string | null;
  trace_id: string | null;
  created_at: CreatedAt;
  source: ColumnType<"push" | "prometheus", "push" | "prometheus" | undefined, never>;
  /** The PromQL a `prometheus` observation was read with, by query key. */
  queries: ColumnType<Record<string, unknown> | null, string | null | undefined, never>;
}

export interface GatePoliciesTable {
  project: string;
  environment: string;
  policy: ColumnType<unknown, string, string>;
  updated_by: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface EvidencePacksTable {
  seq: Generated<number>;
  project: string;
  id: string;
  environment: string;
  rollout_id: string;
  trigger: "manual" | "promoted" | "aborted";
  location: string;
  files: ColumnType<Array<{ name: string; digest: string; size: number }>, string, never>;
  manifest_digest: string;
  created_by: string | null;
  trace_id: string | null;
  created_at: CreatedAt;
}

export interface WebhooksTable {
  seq: Generated<number>;
  id: string;
  project: string;
  url: string;
  events: string[];
  /** The HMAC key as given (signing needs it); never returned or logged. */
  secret: string;
  created_by: string | null;
  created_at: CreatedAt;
}

export interface WebhookOutboxTable {
  seq: Generated<number>;
  id: string;
  webhook_id: string;
  project: string;
  event: string;
  body: string;
  state: Generated<"pending" | "delivered" | "failed">;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  lease_until: Date | null;
  claim: string | null;
  created_at: CreatedAt;
  finished_at: Date | null;
}

export interface WebhookAttemptsTable {
  seq: Generated<number>;
  id: string;
  delivery_id: string;
  webhook_id: string;
  event: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: ColumnType<Date, Date | string | undefined, never>;
}

export interface AnalysisConfigsTable {
  project: string;
  environment: string;
  config: ColumnType<unknown, string, string>;
  updated_by: string | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_rollout: string | null;
  last_window_end: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  consecutive_errors: ColumnType<number, number | undefined, number>;
}

export interface AnalysisRunsTable {
  seq: Generated<number>;
  project: string;
  environment: string;
  rollout_id: string;
  window_start: ColumnType<Date, Date | string, never>;
  window_end: ColumnType<Date, Date | string, never>;
  status: "ok" | "partial" | "failed";
  duration_ms: number;
  errors: ColumnType<unknown[], string, never>;
  warnings: ColumnType<string[], string, never>;
  notes: ColumnType<string[], string, never>;
  observations: ColumnType<Record<string, string>, string, never>;
  action: string | null;
  created_at: CreatedAt;
}

export interface Database {
  projects: ProjectsTable;
  blobs: BlobsTable;
  blob_links: BlobLinksTable;
  artifacts: ArtifactsTable;
  tokens: TokensTable;
  audit_log: AuditLogTable;
  version_sets: VersionSetsTable;
  environments: EnvironmentsTable;
  environment_history: EnvironmentHistoryTable;
  webhooks: WebhooksTable;
  webhook_outbox: WebhookOutboxTable;
  webhook_attempts: WebhookAttemptsTable;
  rollouts: RolloutsTable;
  rollout_observations: RolloutObservationsTable;
  gate_policies: GatePoliciesTable;
  evidence_packs: EvidencePacksTable;
  analysis_configs: AnalysisConfigsTable;
  analysis_runs: AnalysisRunsTable;
  artifact_blobs: ArtifactBlobsTable;
  retention_settings: RetentionSettingsTable;
  gc_runs: GcRunsTable;
  incidents: IncidentsTable;
}

export interface IncidentNote {
  at: string;
  author: string;
  text: string;
}

export interface IncidentsTable {
  seq: Generated<number>;
  id: string;
  project: string;
  environment: string;
  state: "open" | "mitigated" | "closed";
  severity: "sev1" | "sev2" | "sev3";
  summary: string;
  opened_at: ColumnType<Date, Date | string | undefined, never>;
  opened_by: string;
  rollout: string | null;
  stable: string | null;
  sample_trace_ids: ColumnType<string[], string | undefined, string>;
  detected_at: ColumnType<Date, Date | string, never>;
  mitigated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  mitigated_by: ColumnType<{ action: string; revision: number } | null, string | null | undefined, string | null>;
  notes: ColumnType<IncidentNote[], string | undefined, string>;
  closed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  closed_by: string | null;
  resolution: ColumnType<unknown, string | null | undefined, string | null>;
  regression_set: string | null;
}
