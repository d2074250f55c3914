import type { IncidentNote, IncidentRecord } from "./ports.js";

/** The runbook's targets: stop the loss by detection + 7 min, evidence by detection + 10 min. */
export const MITIGATE_WITHIN_MS = 7 * 60_000;
export const EVIDENCE_WITHIN_MS = 10 * 60_000;

export interface IncidentView {
  id: string;
  environment: string;
  state: IncidentRecord["state"];
  severity: IncidentRecord["severity"];
  summary: string;
  opened_at: string;
  opened_by: string;
  rollout: string | null;
  /** The set deploys may go back to without acknowledging the incident. */
  stable: string | null;
  evidence: string[];
  sample_trace_ids: string[];
  timeline: {
    detected_at: string;
    mitigated_at: string | null;
    mitigated_by: { action: string; revision: number } | null;
    evidence_at: string | null;
    targets: { mitigate_by: string; evidence_by: string };
    /** true / false once the step happened (or its target passed without it); null while still in time. */
    met: { mitigate: boolean | null; evidence: boolean | null };
  };
  notes: IncidentNote[];
  regression_set: string | null;
  closed_at: string | null;
  closed_by: string | null;
  close_summary: string | null;
  waived: boolean;
  waive_reason: string | null;
}

function met(doneAt: Date | null, target: Date, now: Date): boolean | null {
  if (doneAt) return doneAt.getTime() <= target.getTime();
  return now.getTime() > target.getTime() ? false : null;
}

export function presentIncident(row: IncidentRecord, evidence: Array<{ id: string; created_at: Date }>, now = new Date()): IncidentView {
  const detected = row.detected_at;
  const mitigateBy = new Date(detected.getTime() + MITIGATE_WITHIN_MS);
  const evidenceBy = new Date(detected.getTime() + EVIDENCE_WITHIN_MS);
  const evidenceAt = evidence[0]?.created_at ?? null;
  const resolution = (row.resolution ?? {}) as { summary?: string; waived?: boolean; reason?: string };
  return {
    id: row.id,
    environment: row.environment,
    state: row.state,
    severity: row.severity,
    summary: row.summary,
    opened_at: row.opened_at.toISOString(),
    opened_by: row.opened_by,
    rollout: row.rollout,
    stable: row.stable,
    evidence: evidence.map((e) => e.id),
    sample_trace_ids: row.sample_trace_ids,
    timeline: {
      detected_at: detected.toISOString(),
      mitigated_at: row.mitigated_at?.toISOString() ?? null,
      mitigated_by: row.mitigated_by,
      evidence_at: evidenceAt?.toISOString() ?? null,
      targets: { mitigate_by: mitigateBy.toISOString(), evidence_by: evidenceBy.toISOString() },
      met: { mitigate: met(row.mitigated_at, mitigateBy, now), evidence: met(evidenceAt, evidenceBy, now) },
    },
    notes: row.notes,
    regression_set: row.regression_set,
    closed_at: row.closed_at?.toISOString() ?? null,
    closed_by: row.closed_by,
    close_summary: resolution.summary ?? null,
    waived: resolution.waived === true,
    waive_reason: resolution.waived ? (resolution.reason ?? null) : null,
  };
}
