/**
 * The metrics an observation may carry (API.md, "Rollouts (canary) and gates"). They arrive flat,
 * keyed by dotted name (`{"quality.success_rate": 0.97}`), or nested by group
 * (`{"quality": {"success_rate": 0.97}}`), or a mix of both; they are always stored and compared
 * flat. A metric given twice, an unknown name or a bad value is a 422 naming the metric.
 *
 * Two value grammars share that normaliser:
 *   metricsSchema / parseMetrics                  plain numbers only (the point form)
 *   observedMetricsSchema / parseObservedMetrics  plain numbers or the sample forms of
 *                                                 analysis/samples.ts; a bad sample field is
 *                                                 named in full (`quality.success_rate.count`)
 */
import { z } from "zod";
import { UnprocessableError, type FieldError } from "../core/errors.js";
import { OBSERVED_VALUE } from "./analysis/sample-schemas.js";
import type { ObservedMetrics } from "./analysis/samples.js";

export { METRIC_NAMES, type MetricName } from "./metric-names.js";
import { METRIC_NAMES, type MetricName } from "./metric-names.js";
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

const METRIC_VALUE: Record<MetricName, z.ZodType<number>> = {
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
  path: (string | number)[];
  message: string;
}

function normalise<T>(input: unknown, values: Record<MetricName, z.ZodType<T>>): { metrics: Partial<Record<MetricName, T>>; issues: Issue[] } {
  const metrics: Partial<Record<MetricName, T>> = {};
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
    const parsed = values[name].safeParse(given.get(name));
    if (parsed.success) metrics[name] = parsed.data;
    else issues.push(...issuesOf(name, parsed.error.issues));
  }
  if (issues.length === 0 && given.size === 0) {
    issues.push({ path: [], message: "at least one metric is required" });
  }
  return { metrics, issues };
}

/** A plain number's schema has one issue at its root; a sample's may have several, deeper. */
function issuesOf(name: MetricName, issues: readonly z.core.$ZodIssue[]): Issue[] {
  const point = issues.every((issue) => issue.path.length === 0);
  if (point) return [{ path: [name], message: issues[0]?.message ?? "invalid value" }];
  return issues.map((issue) => ({ path: [name, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], message: issue.message }));
}

function schemaOf<T>(values: Record<MetricName, z.ZodType<T>>): z.ZodType<Partial<Record<MetricName, T>>> {
  return z.unknown().transform((input, ctx): Partial<Record<MetricName, T>> => {
    const { metrics, issues } = normalise(input, values);
    for (const issue of issues) {
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path, input });
    }
    return issues.length > 0 ? z.NEVER : metrics;
  });
}

function parseWith<T>(input: unknown, values: Record<MetricName, z.ZodType<T>>): Partial<Record<MetricName, T>> {
  const { metrics, issues } = normalise(input, values);
  if (issues.length > 0) {
    const errors: FieldError[] = issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    throw new UnprocessableError("The metrics are invalid", errors);
  }
  return metrics;
}

/**
 * Zod schema for an observation's `metrics`: accepts the flat or nested form and outputs the flat
 * form. Issue paths name the metric as one segment (`["quality.success_rate"]`), so inside a body
 * schema they render as `metrics.quality.success_rate`.
 */
export const metricsSchema: z.ZodType<Metrics> = schemaOf(METRIC_VALUE);

/** Parses metrics on their own; paths in the 422 are relative to the metrics object. */
export function parseMetrics(input: unknown): Metrics {
  return parseWith(input, METRIC_VALUE);
}

/** As metricsSchema, accepting the sample forms too (analysis/samples.ts). */
export const observedMetricsSchema: z.ZodType<ObservedMetrics> = schemaOf(OBSERVED_VALUE);

/** As parseMetrics, accepting the sample forms too. */
export function parseObservedMetrics(input: unknown): ObservedMetrics {
  return parseWith(input, OBSERVED_VALUE);
}
