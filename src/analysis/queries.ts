/**
 * The `queries` of an analysis config: which keys exist, which forms each takes, and their
 * validation. Pure.
 *
 *   key                                  forms (each query a template, templates.ts)
 *   quality.success_rate, quality.adoption_rate, latency.timeout_rate
 *                                        "…" (a rate 0…1)   or {"count": "…", "trials": "…"}
 *   latency.p95_ms                       "…" (ms)           or {"buckets": "…"} (one series per le)
 *   cost.tokens_per_request              "…"                or {"mean": "…", "stddev": "…", "count": "…"}
 *   risk.injection_success, risk.unauthorized_tool_calls, risk.pii_leaks
 *                                        "…" (a count of events: always a point, counts are exact)
 *   requests                             "…" requests the set served in the window (the
 *                                        sample-ratio check of the gate compares both sides')
 *   segments.<name>                      "…" requests of that segment in the window
 *
 * Why `segments.<name>` belongs here: a gate policy's `required_segments` holds a rollout at its
 * first step until the candidate has served enough requests of each named segment, and
 * observations are the only way those counts reach the gate. A rollout fed by Prometheus alone
 * could never pass such a policy if its observations could not carry them.
 *
 *   queriesSchema        zod: the object above; issue paths [key, field?] (the key is one segment,
 *                        so a body schema renders `queries.latency.p95_ms.buckets`)
 *   QueryKey, Queries    the parsed shape; forms: QueryForm
 *   queryFormOf(key)     "point" | "rate" | "histogram" | "mean"
 */
import { z } from "zod";
import { NAME_PATTERN } from "../core/names.js";
import { METRIC_NAMES, type MetricName } from "../rollouts/metrics.js";
import { SAMPLE_KIND } from "../rollouts/analysis/samples.js";
import { MAX_SEGMENTS } from "../rollouts/analysis/sample-schemas.js";
import { checkTemplate } from "./templates.js";

export type SegmentKey = `segments.${string}`;
export type QueryKey = MetricName | "requests" | SegmentKey;

export interface RateQueries {
  count: string;
  trials: string;
}
export interface HistogramQueries {
  buckets: string;
}
export interface MeanQueries {
  mean: string;
  stddev: string;
  count: string;
}
/** A plain string is a point value; the objects produce the sample forms. */
export type QuerySpec = string | RateQueries | HistogramQueries | MeanQueries;
export type Queries = Partial<Record<QueryKey, QuerySpec>>;

export type QueryForm = "point" | "rate" | "histogram" | "mean";

const FIELDS: Record<Exclude<QueryForm, "point">, readonly string[]> = {
  rate: ["count", "trials"],
  histogram: ["buckets"],
  mean: ["mean", "stddev", "count"],
};

const SEGMENT_PREFIX = "segments.";
const METRICS = new Set<string>(METRIC_NAMES);

export const isSegmentKey = (key: string): key is SegmentKey => key.startsWith(SEGMENT_PREFIX);

/** The sample form a key's object takes, or "point" for keys that take a string only. */
export function queryFormOf(key: QueryKey): QueryForm {
  if (key === "requests" || isSegmentKey(key)) return "point";
  return SAMPLE_KIND[key] ?? "point";
}

export const MAX_QUERY_LENGTH = 8192;

const describeForm = (form: Exclude<QueryForm, "point">) => `{${FIELDS[form].map((f) => `"${f}"`).join(", ")}}`;

function formsOf(key: QueryKey): string {
  const form = queryFormOf(key);
  if (form === "point") {
    const why = key.startsWith("risk.") ? " (risk counts are exact: a point value)" : "";
    return `a query string${why}`;
  }
  return `a query string (a point value) or ${describeForm(form)} (one query each, for the sample form)`;
}

interface Issue {
  path: (string | number)[];
  message: string;
}

function queryIssues(value: unknown, path: (string | number)[]): Issue[] {
  if (typeof value !== "string") return [{ path, message: "must be a query string" }];
  if (value.trim() === "") return [{ path, message: "must not be empty" }];
  if (value.length > MAX_QUERY_LENGTH) return [{ path, message: `must be at most ${MAX_QUERY_LENGTH} characters` }];
  return checkTemplate(value).map((message) => ({ path, message }));
}

function keyIssues(key: string): Issue[] {
  if (METRICS.has(key) || key === "requests") return [];
  if (isSegmentKey(key)) {
    const name = key.slice(SEGMENT_PREFIX.length);
    return NAME_PATTERN.test(name) ? [] : [{ path: [key], message: "segment names must match ^[a-z0-9][a-z0-9._-]{0,127}$ (lowercase letters, digits, . _ -)" }];
  }
  return [{ path: [key], message: `unknown metric; known: ${METRIC_NAMES.join(", ")}, requests, segments.<name> (keys are dotted names, e.g. "quality.success_rate")` }];
}

function specIssues(key: QueryKey, value: unknown): Issue[] {
  const form = queryFormOf(key);
  if (typeof value === "string" || form === "point" || typeof value !== "object" || value === null || Array.isArray(value)) {
    return typeof value === "string" ? queryIssues(value, [key]) : [{ path: [key], message: `must be ${formsOf(key)}` }];
  }
  const own = FIELDS[form];
  const given = Object.keys(value);
  if (given.length === 0 || given.every((f) => !own.includes(f))) {
    const other = (Object.keys(FIELDS) as Exclude<QueryForm, "point">[]).find((f) => f !== form && given.length > 0 && given.every((g) => FIELDS[f].includes(g)));
    const hint = other ? `; ${describeForm(other)} is the form of ${other === "rate" ? "a rate" : other === "histogram" ? "latency.p95_ms" : "cost.tokens_per_request"}` : "";
    return [{ path: [key], message: `must be ${formsOf(key)}${hint}` }];
  }
  const issues: Issue[] = [];
  const fields = value as Record<string, unknown>;
  for (const field of given) {
    if (!own.includes(field)) issues.push({ path: [key, field], message: `unknown field; ${key} takes ${describeForm(form)}` });
  }
  for (const field of own) {
    if (!(field in fields)) issues.push({ path: [key, field], message: `is required: ${describeForm(form)} needs a query for each field` });
    else issues.push(...queryIssues(fields[field], [key, field]));
  }
  return issues;
}

/** Every problem of a `queries` object, with paths relative to it. */
export function queriesIssues(input: unknown): Issue[] {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return [{ path: [], message: 'must be an object of metric name → query, e.g. {"requests": "sum(increase(…))"}' }];
  }
  const keys = Object.keys(input);
  const issues: Issue[] = [];
  if (keys.filter(isSegmentKey).length > MAX_SEGMENTS) issues.push({ path: [], message: `at most ${MAX_SEGMENTS} segments` });
  for (const key of keys) {
    const bad = keyIssues(key);
    if (bad.length > 0) issues.push(...bad);
    else issues.push(...specIssues(key as QueryKey, (input as Record<string, unknown>)[key]));
  }
  if (issues.length === 0 && !keys.some((k) => METRICS.has(k))) {
    issues.push({ path: [], message: "at least one metric query is required (requests and segments alone make no observation)" });
  }
  return issues;
}

/** zod schema for `queries`; outputs the same object with keys in a stable order. */
export const queriesSchema: z.ZodType<Queries> = z.unknown().transform((input, ctx): Queries => {
  const issues = queriesIssues(input);
  for (const issue of issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message, input });
  if (issues.length > 0) return z.NEVER;
  return orderQueries(input as Queries);
});

/** Metric keys in METRIC_NAMES order, then requests, then segments by name; field order fixed. */
export function orderQueries(queries: Queries): Queries {
  const out: Queries = {};
  const segments = Object.keys(queries).filter(isSegmentKey).sort();
  for (const key of [...METRIC_NAMES, "requests", ...segments] as QueryKey[]) {
    const spec = queries[key];
    if (spec === undefined) continue;
    if (typeof spec === "string") out[key] = spec;
    else {
      const form = queryFormOf(key) as Exclude<QueryForm, "point">;
      out[key] = Object.fromEntries(FIELDS[form].map((f) => [f, (spec as unknown as Record<string, string>)[f]])) as unknown as QuerySpec;
    }
  }
  return out;
}

/** The field names of a form's object, in order. */
export const fieldsOf = (form: Exclude<QueryForm, "point">): readonly string[] => FIELDS[form];
