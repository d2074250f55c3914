import { unwrap } from "../../client/client.js";
import type { components } from "../../client/api-types.js";
import { keyValues, listOption, stringOption, type CommandSpec } from "../command.js";
import { parseStructured, readLocalFile } from "../content-file.js";
import type { CommandContext } from "../context.js";
import { CliError, EXIT, InputError, UsageError } from "../errors.js";
import { parseDuration, timeOption } from "../time.js";

type ObservationInput = components["schemas"]["ObservationInput"];
const VERSION_SET_ID = /^vs_[0-9a-f]{24}$/;
const METRIC = /^(quality|latency|cost|risk)\.[a-z0-9_]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `stable` / `candidate` stand for the running rollout's sets; anything else must be a set id. */
async function resolveSet(ctx: CommandContext, env: string, set: string): Promise<string> {
  if (VERSION_SET_ID.test(set)) return set;
  if (set !== "stable" && set !== "candidate") throw new UsageError(`<set> must be a version set id (vs_…), stable or candidate, got "${set}"`, "observe");
  const rollout = await unwrap(ctx.client.GET("/v1/projects/{project}/environments/{env}/rollout", { params: { path: { project: ctx.project, env } } }));
  if (rollout.state !== "running" && rollout.state !== "paused") throw new CliError(`no rollout is running on ${env} (the last one was ${rollout.state})`, EXIT.conflict);
  return rollout[set];
}

function metricsFromFlags(pairs: string[]): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [name, raw] of Object.entries(keyValues(pairs, "metric", "observe"))) {
    if (!METRIC.test(name)) throw new UsageError(`--metric ${name}: metric names look like quality.success_rate, latency.p95_ms, cost.tokens_per_request, risk.pii_leaks`, "observe");
    const value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value)) throw new UsageError(`--metric ${name} expects a number, got "${raw}"`, "observe");
    metrics[name] = value;
  }
  return metrics;
}

/**
 * The file's metrics in the flat form (`{"quality": {"success_rate": 0.9}}` → `quality.success_rate`),
 * so a --metric flag replaces the same metric whichever form the file used.
 */
function flattenMetrics(metrics: Record<string, unknown>, file: string): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  const add = (name: string, value: unknown) => {
    if (name in flat) throw new InputError(`${file}: metric ${name} is given twice (flat and nested)`, "observe");
    flat[name] = value;
  };
  for (const [key, value] of Object.entries(metrics)) {
    // A group ("quality": {…}) is flattened; a dotted name's object is a sample form, kept whole.
    if (isRecord(value) && !key.includes(".")) for (const [field, v] of Object.entries(value)) add(`${key}.${field}`, v);
    else add(key, value);
  }
  return flat;
}

/** A sample form in a few characters: "1812/2000", "p95 of 2000", "mean 640 (n 2000)". */
function sampleText(v: unknown): string {
  if (!isRecord(v)) return String(v);
  if (typeof v.trials === "number") return `${String(v.count)}/${v.trials}`;
  if (Array.isArray(v.buckets)) return `histogram of ${String((v.buckets.at(-1) as { count?: unknown } | undefined)?.count ?? 0)}`;
  return `mean ${String(v.mean)} (n ${String(v.count)})`;
}

export const observe: CommandSpec = {
  name: "observe",
  summary: "Post an observation (metrics of one version set over a time window) to a rollout's gate",
  args: ["env", "set?"],
  options: {
    metric: { type: "string", multiple: true, value: "name=value", description: "A metric, e.g. quality.success_rate=0.97 or latency.p95_ms=820 (repeatable)" },
    window: { type: "string", value: "duration", description: "The window is this long and ends at --to (or now): 5m, 1h" },
    from: { type: "string", value: "time", description: "Window start: RFC 3339 with a time zone" },
    to: { type: "string", value: "time", description: "Window end: RFC 3339 with a time zone (default: now)" },
    "trace-id": { type: "string", multiple: true, value: "id", description: "A sample request's trace id, kept as evidence (repeatable)" },
    file: { type: "string", value: "path", description: "A JSON or YAML observation {version_set, window_start, window_end, metrics, requests, segments, sample_trace_ids}; metrics may be sample forms; flags win over its fields" },
  },
  description: [
    "<set> is a version set id, or stable / candidate for the running rollout's sets; with --file it",
    "may come from the file's version_set instead. The answer carries the gate decision now; with",
    "an --auto rollout that decision may already have paused, aborted or stopped it.",
  ].join("\n"),
  examples: [
    "pinset observe production stable --metric quality.success_rate=0.95 --metric latency.p95_ms=900 --window 15m",
    "pinset observe production candidate --metric quality.success_rate=0.96 --window 15m --trace-id 4bf92f3577b34da6",
    "pinset observe production --file observation.json",
  ],
  async run(ctx, { args, values }) {
    const env = args.env!;
    const file = stringOption(values, "file");
    let base: Record<string, unknown> = {};
    if (file !== undefined) {
      const parsed = await parseStructured(await readLocalFile(file, "observe"), file, "observe");
      if (!isRecord(parsed)) throw new InputError(`${file} must hold an observation object {version_set, window_start, window_end, metrics}`, "observe");
      base = parsed;
    }
    const flagMetrics = metricsFromFlags(listOption(values, "metric"));
    const fileMetrics = isRecord(base.metrics) ? flattenMetrics(base.metrics, file!) : undefined;
    if (Object.keys(flagMetrics).length === 0 && fileMetrics === undefined) throw new UsageError("missing --metric name=value (or --file with metrics)", "observe");

    const window = stringOption(values, "window");
    const fromRaw = stringOption(values, "from");
    const toRaw = stringOption(values, "to");
    if (window !== undefined && fromRaw !== undefined) throw new UsageError("give --window or --from, not both", "observe");
    const to = toRaw !== undefined ? timeOption(toRaw, "to", "observe") : undefined;
    let from = fromRaw !== undefined ? timeOption(fromRaw, "from", "observe") : undefined;
    const end = to ?? (typeof base.window_end === "string" ? base.window_end : undefined) ?? new Date().toISOString();
    if (window !== undefined) {
      const ms = parseDuration(window);
      if (ms === undefined || ms === 0) throw new UsageError(`--window expects a duration such as 5m, 15m or 1h, got "${window}"`, "observe");
      if (Number.isNaN(Date.parse(end))) throw new InputError(`${file}: window_end is not a time`, "observe");
      from = new Date(Date.parse(end) - ms).toISOString();
    }
    const start = from ?? (typeof base.window_start === "string" ? base.window_start : undefined);
    if (start === undefined) throw new UsageError("missing the window: --window <duration> (ending now or at --to), or --from <time>", "observe");
    if (Date.parse(start) > Date.parse(end)) throw new UsageError(`the window starts (${start}) after it ends (${end})`, "observe");

    const setArg = args.set ?? (typeof base.version_set === "string" ? base.version_set : undefined);
    if (setArg === undefined) throw new UsageError("missing <set> (a version set id, stable or candidate)", "observe");
    const versionSet = await resolveSet(ctx, env, setArg);
    const traceIds = listOption(values, "trace-id");
    const body = {
      ...base,
      version_set: versionSet,
      window_start: start,
      window_end: end,
      metrics: { ...fileMetrics, ...flagMetrics },
      ...(traceIds.length > 0 ? { sample_trace_ids: traceIds } : {}),
    } as ObservationInput;
    const recorded = await unwrap(ctx.client.POST("/v1/projects/{project}/environments/{env}/observations", { params: { path: { project: ctx.project, env } }, body }));
    ctx.output(recorded, (r) => {
      const metrics = Object.entries(r.metrics).map(([k, v]) => `${k}=${typeof v === "number" ? v : sampleText(v)}`).join(" ");
      const rollout = r.rollout.state === "running" ? "" : `; the rollout is now ${r.rollout.state}`;
      return [`Recorded ${r.id} for the ${r.side} set ${r.version_set} (${r.window_start} – ${r.window_end}): ${metrics}`, `decision: ${r.decision.signal} → ${r.decision.action}${rollout}`];
    });
  },
};
