/**
 * "Only when the regression set is updated is the incident over." Closing names an evalset
 * version; it counts only when it was published after the incident opened and holds a case
 * learned from the incident: one whose `source_trace_id` is one of the incident's sample trace
 * ids, or — when the incident has none — at least one case added relative to the evalset's
 * previous version.
 */
import type { ArtifactStore } from "../artifacts/ports.js";
import { ConflictError, UnprocessableError } from "../core/errors.js";
import { parseComponentReference } from "../version-sets/references.js";
import { casesById, diffEvalset } from "../version-sets/diff/evalset.js";
import type { Tx } from "../core/transaction.js";
import type { IncidentRecord } from "./ports.js";

const PATH = "body.regression_set";

function sourceTraceIds(content: unknown): string[] {
  const cases = (content as { cases?: Array<{ source_trace_id?: unknown }> } | null)?.cases ?? [];
  return cases.flatMap((c) => (typeof c.source_trace_id === "string" ? [c.source_trace_id] : []));
}

const list = (ids: string[]) => (ids.length <= 5 ? ids.join(", ") : `${ids.slice(0, 5).join(", ")} and ${ids.length - 5} more`);

/** The resolved reference (`evalset/<name>@<version>`), or 422 (does not resolve / not an evalset) or 409 regression_set_required. */
/** `tx`: the closing transaction (PGlite has one connection: a read outside it would wait forever). */
export async function checkRegressionSet(artifacts: Pick<ArtifactStore, "find">, incident: IncidentRecord, text: string, tx?: Tx): Promise<string> {
  const parsed = parseComponentReference(text);
  if (!parsed.ok) throw new UnprocessableError(`regression_set ${JSON.stringify(text)} is not an artifact reference`, [{ path: PATH, message: parsed.message }]);
  const { kind, name, ref } = parsed.reference;
  if (kind !== "evalset") {
    throw new UnprocessableError(`regression_set ${text} is a ${kind}, not an evalset`, [{ path: PATH, message: "must name an evalset version: evalset/<name>@<version>" }]);
  }
  const row = await artifacts.find({ project: incident.project, kind, name }, ref, tx);
  if (!row) throw new UnprocessableError(`regression_set ${text} does not resolve in project ${incident.project}`, [{ path: PATH, message: "no such evalset version in this project" }]);
  const resolved = `evalset/${name}@${row.version}`;
  if (row.created_at.getTime() <= incident.opened_at.getTime()) {
    throw new ConflictError(
      `${resolved} was published at ${row.created_at.toISOString()}, before incident ${incident.id} opened (${incident.opened_at.toISOString()}): ` +
        "publish a new version with a case learned from this incident",
      "regression_set_required",
    );
  }
  const content = JSON.parse(row.content) as unknown;
  if (incident.sample_trace_ids.length > 0) {
    const wanted = new Set(incident.sample_trace_ids);
    if (!sourceTraceIds(content).some((id) => wanted.has(id))) {
      throw new ConflictError(
        `${resolved} has no case whose source_trace_id is one of incident ${incident.id}'s sample trace ids (${list(incident.sample_trace_ids)}): add a case learned from one of them`,
        "regression_set_required",
      );
    }
    return resolved;
  }
  const previous = row.version > 1 ? await artifacts.find({ project: incident.project, kind, name }, { by: "version", version: row.version - 1 }, tx) : undefined;
  const added = previous ? diffEvalset(JSON.parse(previous.content), content).added : [...casesById(content).keys()];
  if (added.length === 0) {
    throw new ConflictError(
      `${resolved} adds no case relative to ${previous ? `version ${previous.version}` : "nothing"} (incident ${incident.id} has no sample trace ids): add at least one case`,
      "regression_set_required",
    );
  }
  return resolved;
}
