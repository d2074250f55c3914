import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { stringOption, type CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { table } from "../render/format.js";

type Incident = components["schemas"]["Incident"];

const SEVERITIES = ["sev1", "sev2", "sev3"] as const;
type SeverityName = (typeof SEVERITIES)[number];

function incidentId(raw: string, command: string): string {
  if (!/^inc_[0-9a-f]{24}$/.test(raw)) throw new UsageError(`"${raw}" is not an incident id (inc_ and 24 hex digits)`, command);
  return raw;
}

const met = (value: boolean | null) => (value === null ? "pending" : value ? "met" : "missed");

export function renderIncident(i: Incident): string[] {
  const t = i.timeline;
  const lines = [`incident ${i.id} on ${i.environment}: ${i.state} (${i.severity})${i.waived ? " — waived" : ""}`, `  summary    ${i.summary}`];
  lines.push(`  opened     ${i.opened_at} by ${i.opened_by}`);
  if (i.rollout) lines.push(`  rollout    ${i.rollout}`);
  if (i.stable) lines.push(`  stable     ${i.stable}`);
  lines.push(`  detected   ${t.detected_at}`);
  lines.push(`  mitigated  ${t.mitigated_at ? `${t.mitigated_at} (${t.mitigated_by?.action} at revision ${t.mitigated_by?.revision})` : "not yet"}  target ${t.targets.mitigate_by}: ${met(t.met.mitigate)}`);
  lines.push(`  evidence   ${t.evidence_at ?? "none yet"}  target ${t.targets.evidence_by}: ${met(t.met.evidence)}`);
  if (i.evidence.length > 0) lines.push(`  packs      ${i.evidence.join(", ")}`);
  if (i.sample_trace_ids.length > 0) lines.push(`  traces     ${i.sample_trace_ids.join(", ")}`);
  if (i.regression_set) lines.push(`  regression ${i.regression_set}`);
  if (i.closed_at) lines.push(`  closed     ${i.closed_at} by ${i.closed_by}${i.close_summary ? `: ${i.close_summary}` : ""}${i.waive_reason ? ` (waived: ${i.waive_reason})` : ""}`);
  for (const n of i.notes) lines.push(`  note       ${n.at} ${n.author}: ${n.text}`);
  return lines;
}

export const runbook: CommandSpec = {
  name: "runbook",
  summary: "Print an environment's ten-minute runbook, filled in with its real values (Markdown)",
  args: ["env"],
  examples: ["pinset runbook production > runbook.md"],
  async run(ctx, { args }) {
    const markdown = await unwrap(
      ctx.client.GET("/v1/projects/{project}/environments/{env}/runbook", { params: { path: { project: ctx.project, env: args.env! } }, parseAs: "text" }),
    );
    ctx.output({ markdown }, (r) => r.markdown.replace(/\n$/, ""));
  },
};

export const degrade: CommandSpec = {
  name: "degrade",
  summary: "Switch an environment to its fallback set (aborts a running rollout; works when frozen)",
  args: ["env"],
  options: { reason: { type: "string", value: "text", description: "Why, recorded in the history and the incident" } },
  examples: ["pinset degrade production --reason 'refund answers wrong since 10:02'"],
  async run(ctx, { args, values }) {
    const reason = stringOption(values, "reason");
    const result = await unwrap(
      ctx.client.POST("/v1/projects/{project}/environments/{env}/degrade", {
        params: { path: { project: ctx.project, env: args.env! } },
        body: reason !== undefined ? { reason } : {},
      }),
    );
    ctx.output(result, (r) => [
      `Degraded ${args.env} to ${r.active} (revision ${r.revision})${r.aborted_rollout ? `; aborted rollout ${r.aborted_rollout}` : ""}`,
      ...(r.incident ? [`Incident ${r.incident}`] : []),
    ]);
  },
};

export const incidentLs: CommandSpec = {
  name: "incident ls",
  summary: "List incidents, newest first",
  args: [],
  options: {
    state: { type: "string", value: "state", description: "open, mitigated or closed" },
    env: { type: "string", value: "env", description: "Only this environment's" },
  },
  examples: ["pinset incident ls --state open"],
  async run(ctx, { values }) {
    const state = stringOption(values, "state");
    if (state !== undefined && !["open", "mitigated", "closed"].includes(state)) throw new UsageError(`--state expects open, mitigated or closed, got "${state}"`, "incident ls");
    const env = stringOption(values, "env");
    const page = await unwrap(
      ctx.client.GET("/v1/projects/{project}/incidents", {
        params: { path: { project: ctx.project }, query: { ...(state ? { state: state as "open" } : {}), ...(env ? { environment: env } : {}) } },
      }),
    );
    ctx.output(page, (p) =>
      p.items.length === 0 ? "No incidents." : table(["ID", "ENV", "STATE", "SEV", "OPENED", "SUMMARY"], p.items.map((i) => [i.id, i.environment, i.state, i.severity, i.opened_at, i.summary])),
    );
  },
};

export const incidentShow: CommandSpec = {
  name: "incident show",
  summary: "Show an incident: timeline against the runbook's targets, evidence, traces, notes",
  args: ["id"],
  async run(ctx, { args }) {
    const id = incidentId(args.id!, "incident show");
    const incident = await unwrap(ctx.client.GET("/v1/projects/{project}/incidents/{id}", { params: { path: { project: ctx.project, id } } }));
    ctx.output(incident, renderIncident);
  },
};

export const incidentOpen: CommandSpec = {
  name: "incident open",
  summary: "Open an incident on an environment",
  args: ["env"],
  options: {
    severity: { type: "string", value: "sev", description: "sev1, sev2 or sev3" },
    summary: { type: "string", value: "text", description: "What users see" },
  },
  examples: ["pinset incident open production --severity sev2 --summary 'refunds answered wrong'"],
  async run(ctx, { args, values }) {
    const severity = stringOption(values, "severity");
    const summary = stringOption(values, "summary");
    if (!severity || !(SEVERITIES as readonly string[]).includes(severity)) throw new UsageError("--severity expects sev1, sev2 or sev3", "incident open");
    if (!summary) throw new UsageError("missing --summary <text>", "incident open");
    const incident = await unwrap(
      ctx.client.POST("/v1/projects/{project}/incidents", {
        params: { path: { project: ctx.project } },
        body: { environment: args.env!, severity: severity as SeverityName, summary },
      }),
    );
    ctx.output(incident, (i) => `Opened incident ${i.id} on ${i.environment} (${i.severity})`);
  },
};

export const incidentNote: CommandSpec = {
  name: "incident note",
  summary: "Add a note to an incident",
  args: ["id", "text"],
  examples: ["pinset incident note inc_0123456789abcdef01234567 'p95 back to normal after degrade'"],
  async run(ctx, { args }) {
    const id = incidentId(args.id!, "incident note");
    const incident = await unwrap(ctx.client.POST("/v1/projects/{project}/incidents/{id}/notes", { params: { path: { project: ctx.project, id } }, body: { text: args.text! } }));
    ctx.output(incident, (i) => `Noted on ${i.id} (${i.notes.length} notes)`);
  },
};

export const incidentClose: CommandSpec = {
  name: "incident close",
  summary: "Close an incident with the evalset version that learned from it (or --waive, admin)",
  args: ["id"],
  options: {
    "regression-set": { type: "string", value: "ref", description: "evalset/<name>@<version> with a case for one of the incident's traces" },
    summary: { type: "string", value: "text", description: "Conclusion" },
    waive: { type: "string", value: "reason", description: "Close without a regression set (admin), saying why" },
  },
  description: "Refused with exit code 3 (regression_set_required) until the named evalset version holds a case learned from the incident.",
  examples: ["pinset incident close inc_0123456789abcdef01234567 --regression-set evalset/regression@4 --summary 'refund prompt fixed'"],
  async run(ctx, { args, values }) {
    const id = incidentId(args.id!, "incident close");
    const ref = stringOption(values, "regression-set");
    const waive = stringOption(values, "waive");
    const summary = stringOption(values, "summary");
    if ((ref === undefined) === (waive === undefined)) throw new UsageError("give either --regression-set <ref> or --waive <reason>", "incident close");
    const body = ref !== undefined ? { regression_set: ref, ...(summary ? { summary } : {}) } : { waive: true as const, reason: waive!, ...(summary ? { summary } : {}) };
    const incident = await unwrap(ctx.client.POST("/v1/projects/{project}/incidents/{id}/close", { params: { path: { project: ctx.project, id } }, body }));
    ctx.output(incident, (i) => `Closed incident ${i.id}${i.regression_set ? ` with ${i.regression_set}` : " (waived)"}`);
  },
};
