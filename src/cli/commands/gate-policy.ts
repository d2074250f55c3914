import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { keyValues, listOption, stringOption, type CommandSpec } from "../command.js";
import { parseStructured, readLocalFile } from "../content-file.js";
import type { CommandContext } from "../context.js";
import { InputError, UsageError } from "../errors.js";

type GatePolicy = components["schemas"]["GatePolicy"];
type GatePolicyInput = components["schemas"]["GatePolicyInput"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function renderPolicy(ctx: CommandContext, env: string, p: GatePolicy): string[] {
  const { bold, dim } = ctx.colour;
  return [
    bold(`gate policy of ${env}`),
    `  quality  pass ≥ baseline − ${p.quality.pass_drop}, hold ≥ − ${p.quality.hold_drop}, pause ≥ − ${p.quality.pause_drop}, else roll back`,
    `  latency  pass ≤ baseline × ${p.latency.pass_ratio}, hold ≤ × ${p.latency.hold_ratio}, pause ≤ × ${p.latency.pause_ratio}, else roll back;`,
    `           a timeout rate > 0 and ≥ baseline × ${p.latency.timeout_rate_ratio} rolls back`,
    `  cost     pass ≤ baseline × ${p.cost.pass_ratio}, hold ≤ × ${p.cost.hold_ratio}, pause ≤ × ${p.cost.pause_ratio}, else roll back`,
    `  risk     more than ${p.risk.max_events} event(s) of any risk count stops the rollout and freezes ${env}`,
    `  steps    ${p.steps.join(" → ")} ${dim("(percents 'rollout advance' walks through)")}`,
  ];
}

export const gatePolicyGet: CommandSpec = {
  name: "gate-policy get",
  summary: "Show the gate thresholds of an environment (the defaults until set)",
  args: ["env"],
  examples: ["pinset gate-policy get production", "pinset gate-policy get production --json > policy.json"],
  async run(ctx, { args }) {
    const policy = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/gate-policy", { params: { path: { project: ctx.project, env: args.env! } } }));
    ctx.output(policy, (p) => renderPolicy(ctx, args.env!, p));
  },
};

/** `quality.hold_drop=0.02` → `{quality: {hold_drop: 0.02}}`, merged into `into`. */
function applySetting(into: Record<string, unknown>, key: string, raw: string): void {
  const parts = key.split(".");
  if (parts.length !== 2 || parts.some((p) => !/^[a-z_]+$/.test(p))) {
    throw new UsageError(`--set expects section.field=number (e.g. quality.hold_drop=0.02, latency.pause_ratio=1.3), got "${key}=${raw}"`, "gate-policy set");
  }
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value)) throw new UsageError(`--set ${key} expects a number, got "${raw}"`, "gate-policy set");
  const [section, field] = parts as [string, string];
  const existing = into[section];
  const target = isRecord(existing) ? existing : {};
  target[field] = value;
  into[section] = target;
}

export const gatePolicySet: CommandSpec = {
  name: "gate-policy set",
  summary: "Change gate thresholds (fields not given keep their value); prints the policy now in force",
  args: ["env"],
  options: {
    file: { type: "string", value: "path", description: "A JSON or YAML policy change: {quality: {hold_drop: 0.02}, steps: [1, 10, 100], …}" },
    set: { type: "string", multiple: true, value: "section.field=n", description: "One threshold, e.g. quality.hold_drop=0.02 (repeatable; wins over --file)" },
    steps: { type: "string", value: "list", description: "The percents advance walks through, comma-separated, ending at 100" },
  },
  description: [
    "Sections and fields: quality.{pass_drop,hold_drop,pause_drop}, latency.{pass_ratio,hold_ratio,",
    "pause_ratio,timeout_rate_ratio}, cost.{pass_ratio,hold_ratio,pause_ratio}, risk.max_events.",
    "The registry refuses (exit 1) bands that are not nested, unknown fields and bad steps.",
  ].join("\n"),
  examples: ["pinset gate-policy set production --set quality.hold_drop=0.02 --set latency.pause_ratio=1.3", "pinset gate-policy set staging --steps 10,50,100", "pinset gate-policy set production --file policy.yaml"],
  async run(ctx, { args, values }) {
    const file = stringOption(values, "file");
    const settings = keyValues(listOption(values, "set"), "set", "gate-policy set");
    const steps = stringOption(values, "steps");
    if (file === undefined && Object.keys(settings).length === 0 && steps === undefined) {
      throw new UsageError("nothing to change: give --set section.field=n, --steps or --file", "gate-policy set");
    }
    let change: Record<string, unknown> = {};
    if (file !== undefined) {
      const parsed = await parseStructured(await readLocalFile(file, "gate-policy set"), file, "gate-policy set");
      if (!isRecord(parsed)) throw new InputError(`${file} must hold a mapping such as {quality: {hold_drop: 0.02}}`, "gate-policy set");
      change = parsed;
    }
    for (const [key, raw] of Object.entries(settings)) applySetting(change, key, raw);
    if (steps !== undefined) {
      const list = steps.split(",").map((s) => s.trim());
      if (list.some((s) => s === "" || !Number.isFinite(Number(s)))) throw new UsageError(`--steps expects comma-separated percents such as 1,5,25,100, got "${steps}"`, "gate-policy set");
      change.steps = list.map(Number);
    }
    const policy = await unwrap(
      ctx.client.PUT("/v1/projects/{project}/environments/{env}/gate-policy", {
        params: { path: { project: ctx.project, env: args.env! } },
        // The registry validates the policy (422 naming each field); the CLI passes it on.
        body: change as GatePolicyInput,
      }),
    );
    ctx.output(policy, (p) => [`Updated the gate policy of ${args.env}`, ...renderPolicy(ctx, args.env!, p)]);
  },
};
