/**
 * The metrics an observation may carry (API.md, "Rollouts (canary) and gates"). They arrive flat,
 * keyed by dotted name (`{"quality.success_rate": 0.97}`), or nested by group
 * (`{"quality": {"success_rate": 0.97}}`), or a mix of both; they are always stored and compared
 * flat. A metric given twice, an unknown name or a bad value is a 422 naming the metric.
 */
import { z } from "zod";
import { UnprocessableError, type FieldError } from "../errors.js";

/** Every metric, in the stable order used for decision reasons. */
export const METRIC_NAMES = [
  "quality.success_rate",
  "quality.adoption_rate",
  "latency.p95_ms",
  "latency.timeout_rate",
  "cost.tokens_per_request",
  "risk.injection_success",
  "risk.unauthorized_tool_calls",
  "risk.pii_leaks",
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
export type Metrics = Partial<Record<MetricName, number>>;

const rate = z.number({ error: "must be a finite number between 0 and 1" }).min(0, {
  error: "must be between 0 and 1",
}).max(1, { error: "must be between 0 and 1" });
const nonNegative = z
  .number({ error: "must be a finite number ≥ 0" })
  .min(0, { error: "must be ≥ 0" });
const count = z
  .int({ error: "must be a whole number ≥ 0" })
  .min(0, { error: "must be a whole number ≥ 0" });

const METRIC_VALUE: Record<MetricName, z.ZodNumber> = {
  "quality.success_rate": rate,
  "quality.adoption_rate": rate,
  "latency.p95_ms": nonNegative,
  "latency.timeout_rate": rate,
  "cost.tokens_per_request": nonNegative,
  "risk.injection_success": count,
  "risk.unauthorized_tool_calls": count,
  "risk.pii_leaks": count,
};

const KNOWN = new Set<string>(METRIC_NAMES);
const GROUPS = new Set(METRIC_NAMES.map((name) => name.slice(0, name.indexOf("."))));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

interface Issue {
  path: string[];
  message: string;
}

function normalise(input: unknown): { metrics: Metrics; issues: Issue[] } {
  const metrics: Metrics = {};
  const issues: Issue[] = [];
  if (!isPlainObject(input)) {
    issues.push({ path: [], message: "metrics must be an object of metric name → number" });
    return { metrics, issues };
  }

  const given = new Map<MetricName, unknown>();
  const put = (name: string, value: unknown): void => {
    if (!KNOWN.has(name)) {
      issues.push({ path: [name], message: `unknown metric; known: ${METRIC_NAMES.join(", ")}` });
    } else if (given.has(name as MetricName)) {
      issues.push({ path: [name], message: "metric is given twice (flat and nested)" });
    } else {
      given.set(name as MetricName, value);
    }
  };
  for (const [key, value] of Object.entries(input)) {
    if (GROUPS.has(key) && isPlainObject(value)) {
      for (const [child, childValue] of Object.entries(value)) put(`${key}.${child}`, childValue);
    } else {
      put(key, value);
    }
  }

  for (const name of METRIC_NAMES) {
    if (!given.has(name)) continue;
    const parsed = METRIC_VALUE[name].safeParse(given.get(name));
    if (parsed.success) metrics[name] = parsed.data;
    else issues.push({ path: [name], message: parsed.error.issues[0]?.message ?? "invalid value" });
  }
  if (issues.length === 0 && given.size === 0) {
    issues.push({ path: [], message: "at least one metric is required" });
  }
  return { metrics, issues };
}

/**
 * Zod schema for an observation's `metrics`: accepts the flat or nested form and outputs the flat
 * form. Issue paths name the metric as one segment (`["quality.success_rate"]`), so inside a body
 * schema they render as `metrics.quality.success_rate`.
 */
export const metricsSchema = z.unknown().transform((input, ctx): Metrics => {
  const { metrics, issues } = normalise(input);
  for (const issue of issues) {
    ctx.addIssue({ code: "custom", message: issue.message, path: issue.path, input });
  }
  return issues.length > 0 ? z.NEVER : metrics;
});

/** Parses metrics on their own; paths in the 422 are relative to the metrics object. */
export function parseMetrics(input: unknown): Metrics {
  const { metrics, issues } = normalise(input);
  if (issues.length > 0) {
    const errors: FieldError[] = issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new UnprocessableError("The metrics are invalid", errors);
  }
  return metrics;
}
