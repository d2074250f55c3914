import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { integerOption, listOption, stringOption, type CommandSpec, type OptionSpec } from "../command.js";
import type { CommandContext } from "../context.js";
import { UsageError } from "../errors.js";
import { table } from "../render/format.js";
import { watchRollout } from "./rollout-watch.js";
import { escapeDeep } from "../render/safe-text.js";

type Rollout = components["schemas"]["Rollout"];
type Decision = components["schemas"]["Decision"];
type RolloutStatus = components["schemas"]["RolloutStatus"];

const REASON: Record<string, OptionSpec> = { reason: { type: "string", value: "text", description: "Why, recorded in the history" } };

/** A percent in (0, 100] with at most two decimals, as the registry takes it. */
function percentOption(raw: string | undefined, command: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+(\.\d{1,2})?$/.test(raw) || !(n > 0 && n <= 100)) throw new UsageError(`--percent expects a number in (0, 100] with at most two decimals, got "${raw}"`, command);
  return n;
}

function path(ctx: CommandContext, env: string) {
  return { params: { path: { project: ctx.project, env } } };
}

export function renderRollout(ctx: CommandContext, r: Rollout | RolloutStatus): string[] {
  const { bold, dim } = ctx.colour;
  const lines = [`${bold(`rollout ${r.id}`)} on ${r.environment}: ${r.state}, ${r.percent}%${r.auto ? " (auto)" : ""}`];
  lines.push(`  stable     ${r.stable}`, `  candidate  ${r.candidate}`);
  if (r.allow.length > 0) lines.push(`  allow      ${r.allow.join(", ")}`);
  lines.push(`  started    ${r.created_at}`, `  updated    ${r.updated_at}${r.ended_at ? dim(`  ended ${r.ended_at}`) : ""}`);
  if ("step" in r && r.step) {
    const s = r.step;
    lines.push(
      `  step       ${s.percent}% since ${r.step_started_at}: bake ${s.bake_seconds} s (${r.bake_remaining_seconds ?? 0} s left), ` +
        `samples ${s.samples.baseline} / ${s.samples.candidate} of ${s.min_samples} per side`,
    );
  }
  if ("next_action" in r && r.next_action) lines.push(`  next       ${r.next_action}: ${r.next_action_reason ?? ""}`);
  if (r.evidence.length > 0) lines.push(`  evidence   ${r.evidence.join(", ")}`);
  return lines;
}

type Reason = Decision["reasons"][number];

/** Compact numbers for the table: rates as fractions with up to 4 decimals, others as they come. */
const short = (n: number | null): string => (n === null ? "-" : Number.isInteger(n) ? String(n) : String(Number.parseFloat(n.toPrecision(4))));

/** The interval in the reason's unit: points for rates, a ratio for p95 and tokens; "-" for a point comparison. */
function intervalText(r: Reason): string {
  if (!r.interval) return "-";
  const rate = r.metric.startsWith("quality.") || r.metric === "latency.timeout_rate";
  const end = (v: number | null, unbounded: string) => (v === null ? unbounded : rate ? `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}` : v.toFixed(2));
  return `${end(r.interval.low, "-inf")} .. ${end(r.interval.high, "+inf")}${rate ? " pt" : ""}`;
}

/** One line per metric: values, method, interval, samples and verdict; then each reason's summary sentence. */
export function renderDecision(ctx: CommandContext, d: Decision): string[] {
  const { green, yellow, red, bold, dim } = ctx.colour;
  const paint = { green, yellow, red, black: (s: string) => bold(red(s)) }[d.signal];
  const rows = d.reasons.map((r) => [
    r.metric,
    short(r.baseline),
    short(r.candidate),
    r.method,
    intervalText(r),
    r.samples ? `${r.samples.baseline}/${r.samples.candidate}` : "-",
    r.verdict,
  ]);
  const summaries = d.reasons.filter((r) => r.summary).map((r) => dim(`  ${r.summary}`));
  return [
    `decision: ${paint(d.signal)} → ${d.action}`,
    ...(rows.length > 0 ? table(["METRIC", "BASELINE", "CANDIDATE", "METHOD", "INTERVAL", "N (B/C)", "VERDICT"], rows) : []),
    ...(summaries.length > 0 ? ["", ...summaries] : []),
  ];
}

export const rolloutStart: CommandSpec = {
  name: "rollout start",
  summary: "Start a canary: serve a candidate set to a share of subjects and an allowlist",
  args: ["env", "set"],
  options: {
    percent: { type: "string", value: "p", description: "Share of subjects on the candidate, in (0, 100]" },
    allow: { type: "string", multiple: true, value: "subject", description: "A subject that always gets the candidate (repeatable)" },
    auto: { type: "boolean", description: "Let the registry walk the policy's steps by itself (advance when baked, sampled and passing; pause, abort or stop on the gate)" },
    "acknowledge-incident": { type: "string", value: "id", description: "Start while this incident is open on the environment (else exit 3, incident_open); recorded" },
    ...REASON,
  },
  examples: ["pinset rollout start production $ID --percent 1 --allow tenant-internal --reason 'new prompt'"],
  async run(ctx, { args, values }) {
    const percent = percentOption(stringOption(values, "percent"), "rollout start");
    if (percent === undefined) throw new UsageError("missing --percent <p>", "rollout start");
    const allow = listOption(values, "allow");
    const reason = stringOption(values, "reason");
    const acknowledge = stringOption(values, "acknowledge-incident");
    const rollout = await unwrap(
      ctx.client.PUT("/v1/projects/{project}/environments/{env}/rollout", {
        ...path(ctx, args.env!),
        body: {
          candidate: args.set!,
          percent,
          ...(allow.length > 0 ? { allow } : {}),
          ...(values.auto === true ? { auto: true } : {}),
          ...(reason !== undefined ? { reason } : {}),
          ...(acknowledge !== undefined ? { acknowledge_incident: acknowledge } : {}),
        },
      }),
    );
    ctx.output(rollout, (r) => `Started rollout ${r.id} of ${r.candidate} on ${r.environment} at ${r.percent}%${r.allow.length ? ` (+${r.allow.length} allowed)` : ""}`);
  },
};

export const rolloutStatus: CommandSpec = {
  name: "rollout status",
  summary: "Show an environment's rollout and its gate decision (--watch: live, until it ends)",
  args: ["env"],
  options: {
    watch: { type: "boolean", description: "Follow the rollout live (the environment's watch stream) until it ends or Ctrl-C" },
    interval: { type: "string", value: "seconds", description: "--watch: re-read the gate decision this often (default 5); steps show at once" },
  },
  description: [
    "--watch redraws on every step of the rollout and when the decision changes; on a pipe (or with",
    "--json, one JSON line {rollout, decision} per change) it prints each new state. It ends on Ctrl-C",
    "(exit 0) or when the rollout ends: promoted exits 0, aborted exits 1.",
  ].join("\n"),
  examples: ["pinset rollout status production", "pinset rollout status production --watch", "pinset rollout status production --watch --json | jq -c '.rollout.percent'"],
  async run(ctx, { args, values }) {
    const interval = integerOption(values, "interval", "rollout status", { min: 1, max: 3600 });
    if (interval !== undefined && values.watch !== true) throw new UsageError("--interval goes with --watch", "rollout status");
    if (values.watch === true) {
      return watchRollout(ctx, args.env!, { intervalMs: (interval ?? 5) * 1000, render: { rollout: renderRollout, decision: renderDecision } });
    }
    const rollout = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/rollout", path(ctx, args.env!)));
    if (ctx.json) return ctx.printJson(rollout);
    const decision = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/rollout/decision", path(ctx, args.env!)));
    ctx.print([...renderRollout(ctx, escapeDeep(rollout)), "", ...renderDecision(ctx, escapeDeep(decision))].join("\n"));
  },
};

export const rolloutDecision: CommandSpec = {
  name: "rollout decision",
  summary: "Evaluate the gate policy: signal, action and the reason per metric",
  args: ["env"],
  examples: ["pinset rollout decision production --json | jq -r .action"],
  async run(ctx, { args }) {
    const decision = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/rollout/decision", path(ctx, args.env!)));
    ctx.output(decision, (d) => renderDecision(ctx, d));
  },
};

export const rolloutAdvance: CommandSpec = {
  name: "rollout advance",
  summary: "Raise the candidate's share (to the policy's next step by default); at 100 it is promoted",
  args: ["env"],
  options: {
    percent: { type: "string", value: "p", description: "The new percent (default: the policy's next step)" },
    force: { type: "boolean", description: "Advance although the gate decision is not 'advance' (recorded with --reason)" },
    ...REASON,
  },
  description: "Refused with exit code 3 (gate_blocked) unless the gate decision is 'advance' or --force is given.",
  examples: ["pinset rollout advance production", "pinset rollout advance production --percent 50 --force --reason 'approved by on-call'"],
  async run(ctx, { args, values }) {
    const percent = percentOption(stringOption(values, "percent"), "rollout advance");
    const reason = stringOption(values, "reason");
    const rollout = await unwrap(
      ctx.client.POST("/v1/projects/{project}/environments/{env}/rollout/advance", {
        ...path(ctx, args.env!),
        body: { ...(percent !== undefined ? { percent } : {}), ...(values.force === true ? { force: true } : {}), ...(reason !== undefined ? { reason } : {}) },
      }),
    );
    ctx.output(rollout, (r) => (r.state === "promoted" ? `Promoted ${r.candidate}: it is now active in ${r.environment}` : `Advanced rollout ${r.id} to ${r.percent}%`));
  },
};

function simpleStep(step: "pause" | "resume" | "abort", summary: string, done: (r: Rollout) => string): CommandSpec {
  return {
    name: `rollout ${step}`,
    summary,
    args: ["env"],
    options: REASON,
    examples: [`pinset rollout ${step} production --reason '…'`],
    async run(ctx, { args, values }) {
      const reason = stringOption(values, "reason");
      const rollout = await unwrap(
        ctx.client.POST(`/v1/projects/{project}/environments/{env}/rollout/${step}`, { ...path(ctx, args.env!), body: reason !== undefined ? { reason } : {} }),
      );
      ctx.output(rollout, done);
    },
  };
}

export const rolloutPause = simpleStep("pause", "Pause a rollout (assignments stay as they are)", (r) => `Paused rollout ${r.id} at ${r.percent}%`);
export const rolloutResume = simpleStep("resume", "Resume a paused rollout", (r) => `Resumed rollout ${r.id} at ${r.percent}%`);
export const rolloutAbort = simpleStep("abort", "Abort a rollout: every subject gets the stable set again", (r) => `Aborted rollout ${r.id}: ${r.environment} serves ${r.stable} to everyone`);

export const rolloutEvidence: CommandSpec = {
  name: "rollout evidence",
  summary: "Write an evidence pack for the rollout (sets, diff, observations, decision, audit)",
  args: ["env"],
  examples: ["pinset rollout evidence production"],
  async run(ctx, { args }) {
    const pack = await unwrap(ctx.client.POST("/v1/projects/{project}/environments/{env}/rollout/evidence", path(ctx, args.env!)));
    ctx.output(pack, (p) => [`Wrote evidence pack ${p.id} to ${p.location}`, ...p.files.map((f) => `  ${f}`)]);
  },
};
