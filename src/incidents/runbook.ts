/**
 * The environment's own ten-minute runbook, printed next to the screen: perceive by T+3 min,
 * stop the loss by T+7, evidence by T+10 — "degrade first if you can, roll back if all else
 * fails" — with every command filled in with this environment's real values. Pure: the route
 * gathers the values.
 */
import type { IncidentView } from "./present.js";

export interface RunbookInput {
  baseUrl: string;
  project: string;
  environment: string;
  active: string | null;
  revision: number;
  frozen: boolean;
  fallback: string | null;
  /** The last change of the active set: when and by whom. */
  liveSince: { at: string; actor: string; action: string } | null;
  /** Where `rollback` without `to` goes; null when there is no earlier set. */
  rollbackTarget: string | null;
  rollout: { id: string; candidate: string; percent: number; state: string } | null;
  incident: IncidentView | null;
}

const code = (lines: string[], lang = "sh") => ["```" + lang, ...lines, "```"];

export function renderRunbook(r: RunbookInput): string {
  const env = `${r.baseUrl}/v1/projects/${r.project}/environments/${r.environment}`;
  const auth = `-H "authorization: Bearer $PINSET_TOKEN"`;
  const json = `-H "content-type: application/json"`;
  const cli = `PINSET_PROJECT=${r.project} pinset`;
  const out: string[] = [`# Runbook: ${r.project} / ${r.environment}`, ""];

  out.push("## What is live", "");
  out.push(`- Active set: \`${r.active ?? "none"}\` (revision ${r.revision}${r.frozen ? ", **frozen**" : ""})`);
  if (r.liveSince) out.push(`- Live since ${r.liveSince.at}, by ${r.liveSince.actor} (${r.liveSince.action})`);
  out.push(`- Fallback for degrade: ${r.fallback ? `\`${r.fallback}\`` : "none named (set one: `PUT …/environments/" + r.environment + ' {"fallback": "vs_…"}`)'}`);
  out.push(`- Rollback target: ${r.rollbackTarget ? `\`${r.rollbackTarget}\`` : "none (no earlier set)"}`);
  if (r.rollout) out.push(`- Rollout ${r.rollout.id}: ${r.rollout.state}, candidate \`${r.rollout.candidate}\` at ${r.rollout.percent} %`);
  out.push("");

  out.push("## Open incident", "");
  if (r.incident) {
    const i = r.incident;
    out.push(`- **${i.id}** (${i.severity}, ${i.state}): ${i.summary}`);
    out.push(`- Detected ${i.timeline.detected_at}; stop the loss by ${i.timeline.targets.mitigate_by}, evidence by ${i.timeline.targets.evidence_by}`);
    out.push(`- Mitigated: ${i.timeline.mitigated_at ? `${i.timeline.mitigated_at} (${i.timeline.mitigated_by?.action})` : "not yet"}; evidence: ${i.timeline.evidence_at ?? "none yet"}`);
    if (i.sample_trace_ids.length > 0) out.push(`- Failing traces: ${i.sample_trace_ids.slice(0, 10).join(", ")}`);
  } else {
    out.push("None.");
  }
  out.push("");

  out.push("## The ten minutes", "");
  out.push("1. **T+0–3 min — perceive**: confirm the signal (gate decision, dashboards); open an incident.");
  out.push("2. **T+3–7 min — stop the loss**: degrade first if you can; roll back if all else fails.");
  out.push("3. **T+7–10 min — evidence**: write an evidence pack, diff live against previous, note what you saw.");
  out.push("4. **After**: publish an evalset version with a case for a failing trace, then close the incident with it.");
  out.push("");

  out.push("### Open an incident", "");
  out.push(...code([
    `${cli} incident open ${r.environment} --severity sev2 --summary "what users see"`,
    `curl -s -X POST ${r.baseUrl}/v1/projects/${r.project}/incidents ${auth} ${json} \\`,
    `  -d '{"environment": "${r.environment}", "severity": "sev2", "summary": "what users see"}'`,
  ]), "");

  out.push(`### Degrade${r.fallback ? ` (to \`${r.fallback}\`)` : " (no fallback named: not available)"}`, "");
  out.push(...code([`${cli} degrade ${r.environment} --reason "…"`, `curl -s -X POST ${env}/degrade ${auth} ${json} -d '{"reason": "…"}'`]), "");

  out.push(`### Roll back${r.rollbackTarget ? ` (to \`${r.rollbackTarget}\`)` : ""}`, "");
  out.push(...code([
    `${cli} rollback ${r.environment}${r.rollbackTarget ? ` --to ${r.rollbackTarget}` : ""} --reason "…"`,
    `curl -s -X POST ${env}/rollback ${auth} ${json} -d '{${r.rollbackTarget ? `"to": "${r.rollbackTarget}", ` : ""}"reason": "…"}'`,
  ]), "");

  out.push("### Freeze", "");
  out.push("Stops every deploy, rollback and new rollout until an admin unfreezes (degrade still works); abort a running rollout first (409 otherwise):", "");
  out.push(...code([`${cli} env freeze ${r.environment} --reason "…"`, `curl -s -X POST ${env}/freeze ${auth} ${json} -d '{"reason": "…"}'`]), "");

  out.push("### Write an evidence pack", "");
  out.push(...code([`${cli} rollout evidence ${r.environment}`, `curl -s -X POST ${env}/rollout/evidence ${auth}`]), "");

  out.push("### Diff live against previous", "");
  if (r.active && r.rollbackTarget) {
    out.push(...code([`${cli} diff ${r.rollbackTarget} ${r.active}`, `curl -s "${r.baseUrl}/v1/projects/${r.project}/diff?from=${r.rollbackTarget}&to=${r.active}" ${auth}`]), "");
  } else {
    out.push("No earlier set to compare with.", "");
  }

  const id = r.incident?.id ?? "<incident id>";
  out.push("### Close the incident", "");
  out.push(...code([
    `${cli} publish evalset regression --file regression.json   # a case with "source_trace_id" of a failing trace`,
    `${cli} incident close ${id} --regression-set evalset/regression@<version> --summary "…"`,
    `curl -s -X POST ${r.baseUrl}/v1/projects/${r.project}/incidents/${id}/close ${auth} ${json} \\`,
    `  -d '{"regression_set": "evalset/regression@<version>", "summary": "…"}'`,
  ]));
  return `${out.join("\n")}\n`;
}
