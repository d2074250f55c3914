/**
 * One evaluation: every query of an analysis config, for both sides of a rollout, over one
 * window — turned into one observation per side, in the shape the observation route takes.
 * Pure apart from the client's calls.
 *
 *   const run = await evaluateAnalysis({
 *     config,                                   // parseAnalysisConfig(…): queries, interval_seconds
 *     project, environment,                     // for {{project}} / {{environment}}
 *     sides: { stable: "vs_…", candidate: "vs_…" },
 *     windowEnd,                                // the window is (windowEnd − interval, windowEnd]
 *     client,                                   // clientFromConfig(config), or a fake
 *   });
 *   run.observations.stable / .candidate        PrometheusObservation, or undefined when none of
 *                                               that side's metrics could be read
 *   run.errors                                  one AnalysisErrorRecord per failed query or value
 *   run.status                                  "ok" | "partial" (some errors) | "failed" (no observation)
 *
 * For the loop (part B): record each present observation through the observation route's service
 * (as pushed ones, plus `source` and `queries`), keep the run (window, status, duration_ms,
 * errors) for `GET …/analysis/runs`, and count a run with any error as an error run:
 * `consecutive_error_limit` of them in a row pause the rollout; a failure alone never rolls back.
 *
 * Rules:
 * - A failed query makes its metric no_data for that window: the metric is left out of the
 *   side's observation and the failure is recorded. Never a verdict.
 * - A compared metric (every metric but risk counts) and `requests` are kept for both sides or
 *   neither: if one side's query failed, the other side's value of that window is left out too
 *   (run.notes says so), so pooled windows stay paired and a time-of-day drift still cancels.
 *   Risk counts need no baseline and are kept: a candidate's injection is never dropped because
 *   the stable side's query failed.
 * - Values go through the observation route's own schema (rollouts/analysis/sample-schemas.ts):
 *   a rate above 1 or a count above its trials is an invalid_value error, not an observation.
 *   Counts (trials, events, requests, segment counts) are rounded to whole numbers: increase()
 *   extrapolates, so it answers fractions.
 * - When Prometheus is unreachable or times out, queries not yet sent are not sent (each is
 *   recorded with the same error): a sick Prometheus is not piled on, and a black hole costs
 *   one time-out per concurrent query rather than one per query.
 */
import { requestsSchema, OBSERVED_VALUE } from "../rollouts/analysis/sample-schemas.js";
import type { Bucket, MetricValue, ObservedMetrics } from "../rollouts/analysis/samples.js";
import type { MetricName } from "../rollouts/metrics.js";
import type { AnalysisConfig } from "./config.js";
import { AnalysisError, isProviderDown, type AnalysisErrorKind } from "./errors.js";
import { histogramBuckets, singleValue } from "./prometheus-response.js";
import type { PrometheusClient } from "./prometheus-client.js";
import { fieldsOf, isSegmentKey, queryFormOf, type QueryKey, type QuerySpec } from "./queries.js";
import { renderTemplate } from "./templates.js";

export type Side = "stable" | "candidate";
const SIDES: readonly Side[] = ["stable", "candidate"];

/** The evaluated queries of one key: a string, or the form's object of strings. */
export type EvaluatedQuery = string | Record<string, string>;

export interface PrometheusObservation {
  version_set: string;
  window_start: string;
  window_end: string;
  /** Flat, by dotted name: plain numbers or the sample forms. */
  metrics: ObservedMetrics;
  requests?: number;
  segments?: Record<string, number>;
  source: "prometheus";
  /** The PromQL sent for each key, for the record. */
  queries: Partial<Record<QueryKey, EvaluatedQuery>>;
}

export interface AnalysisErrorRecord {
  side: Side;
  /** The query's key; "observation" when the registry refused the side's whole observation. */
  key: QueryKey | "observation";
  /** The form's field (count, trials, buckets, mean, stddev) when one query of several failed. */
  field?: string;
  kind: AnalysisErrorKind;
  message: string;
  query?: string;
}

export interface Evaluation {
  window: { start: string; end: string };
  status: "ok" | "partial" | "failed";
  observations: Partial<Record<Side, PrometheusObservation>>;
  errors: AnalysisErrorRecord[];
  /** Prometheus' warnings (data valid, maybe partial), one line each, prefixed by side and key. */
  warnings: string[];
  /** What the evaluation left out that is not an error (the other side of a failed metric). */
  notes: string[];
  duration_ms: number;
}

export interface EvaluationInput {
  config: Pick<AnalysisConfig, "queries" | "interval_seconds">;
  project: string;
  environment: string;
  sides: Record<Side, string>;
  windowEnd: Date;
  client: PrometheusClient;
  /** Queries in flight at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

interface Job {
  side: Side;
  key: QueryKey;
  field: string | undefined;
  query: string;
  kind: "value" | "buckets";
  result?: number | Bucket[];
  error?: AnalysisError;
}

function jobsOf(input: EvaluationInput): Job[] {
  const jobs: Job[] = [];
  for (const side of SIDES) {
    const values = { version_set: input.sides[side], environment: input.environment, project: input.project, windowSeconds: input.config.interval_seconds };
    for (const [key, spec] of Object.entries(input.config.queries) as [QueryKey, QuerySpec][]) {
      if (typeof spec === "string") {
        jobs.push({ side, key, field: undefined, query: renderTemplate(spec, values), kind: "value" });
        continue;
      }
      for (const field of fieldsOf(queryFormOf(key) as "rate" | "histogram" | "mean")) {
        const template = (spec as unknown as Record<string, string>)[field]!;
        jobs.push({ side, key, field, query: renderTemplate(template, values), kind: field === "buckets" ? "buckets" : "value" });
      }
    }
  }
  return jobs;
}

async function runJobs(jobs: Job[], input: EvaluationInput, warnings: string[]): Promise<void> {
  let next = 0;
  let down: AnalysisError | undefined;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      if (down) {
        job.error = new AnalysisError(down.kind, `not sent: ${down.message}`);
        continue;
      }
      try {
        const answer = await input.client.query({ query: job.query, time: input.windowEnd, ...(input.signal ? { signal: input.signal } : {}) });
        for (const w of answer.warnings) warnings.push(`${job.side} ${job.key}${job.field ? `.${job.field}` : ""}: ${w}`);
        job.result = job.kind === "buckets" ? histogramBuckets(answer.data) : singleValue(answer.data);
      } catch (err) {
        job.error = err instanceof AnalysisError ? err : new AnalysisError("bad_response", `the query failed unexpectedly: ${(err as Error).message}`, { cause: err });
        if (isProviderDown(job.error)) down ??= job.error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 4) }, worker));
}

const whole = (n: number) => Math.round(n);

/** The value a key's results make, before validation: a string query is a point value. */
function assemble(key: QueryKey, spec: QuerySpec, results: Record<string, number | Bucket[]>): MetricValue {
  const form = typeof spec === "string" ? "point" : queryFormOf(key);
  const n = (field: string) => results[field] as number;
  switch (form) {
    case "rate":
      return { count: whole(n("count")), trials: whole(n("trials")) };
    case "histogram":
      return { buckets: results.buckets as Bucket[] };
    case "mean":
      return { mean: n("mean"), stddev: n("stddev"), count: whole(n("count")) };
    default: {
      const value = n("");
      return key.startsWith("risk.") || key === "requests" || isSegmentKey(key) ? whole(value) : value;
    }
  }
}

/** undefined when the value is fine, else why not (the schema's messages, with the field). */
function invalidity(key: QueryKey, value: MetricValue): string | undefined {
  const schema = key === "requests" || isSegmentKey(key) ? requestsSchema : OBSERVED_VALUE[key as MetricName];
  const parsed = schema.safeParse(value);
  if (parsed.success) return undefined;
  return parsed.error.issues.map((i) => `${[key, ...i.path.map(String)].join(".")} ${i.message} (got ${JSON.stringify(value).slice(0, 200)})`).join("; ");
}

const paired = (key: QueryKey) => key === "requests" || (!key.startsWith("risk.") && !isSegmentKey(key));

export async function evaluateAnalysis(input: EvaluationInput): Promise<Evaluation> {
  const started = performance.now();
  const end = input.windowEnd;
  const start = new Date(end.getTime() - input.config.interval_seconds * 1000);
  const jobs = jobsOf(input);
  const warnings: string[] = [];
  await runJobs(jobs, input, warnings);

  const errors: AnalysisErrorRecord[] = [];
  const notes: string[] = [];
  const values = new Map<string, MetricValue>();
  const evaluated: Record<Side, Partial<Record<QueryKey, EvaluatedQuery>>> = { stable: {}, candidate: {} };
  for (const side of SIDES) {
    for (const key of Object.keys(input.config.queries) as QueryKey[]) {
      const own = jobs.filter((j) => j.side === side && j.key === key);
      evaluated[side][key] = own.length === 1 && own[0]!.field === undefined ? own[0]!.query : Object.fromEntries(own.map((j) => [j.field!, j.query]));
      const failed = own.filter((j) => j.error);
      for (const j of failed) errors.push({ side, key, ...(j.field ? { field: j.field } : {}), kind: j.error!.kind, message: j.error!.message, query: j.query });
      if (failed.length > 0) continue;
      const value = assemble(key, input.config.queries[key]!, Object.fromEntries(own.map((j) => [j.field ?? "", j.result!])));
      const invalid = invalidity(key, value);
      if (invalid) errors.push({ side, key, kind: "invalid_value", message: invalid });
      else values.set(`${side} ${key}`, value);
    }
  }
  for (const key of Object.keys(input.config.queries) as QueryKey[]) {
    if (!paired(key)) continue;
    const have = SIDES.filter((side) => values.has(`${side} ${key}`));
    if (have.length === 1) {
      values.delete(`${have[0]} ${key}`);
      notes.push(`${key}: the ${have[0]} side's value is left out because the ${have[0] === "stable" ? "candidate" : "stable"} side's failed (a metric is compared on windows both sides report)`);
    }
  }

  const observations: Evaluation["observations"] = {};
  for (const side of SIDES) {
    const metrics: ObservedMetrics = {};
    const segments: Record<string, number> = {};
    let requests: number | undefined;
    for (const [id, value] of values) {
      const [s, key] = id.split(" ") as [Side, QueryKey];
      if (s !== side) continue;
      if (key === "requests") requests = value as number;
      else if (isSegmentKey(key)) segments[key.slice("segments.".length)] = value as number;
      else metrics[key] = value;
    }
    if (Object.keys(metrics).length === 0) continue;
    observations[side] = {
      version_set: input.sides[side],
      window_start: start.toISOString(),
      window_end: end.toISOString(),
      metrics,
      ...(requests !== undefined ? { requests } : {}),
      ...(Object.keys(segments).length > 0 ? { segments } : {}),
      source: "prometheus",
      queries: evaluated[side],
    };
  }
  const status = Object.keys(observations).length === 0 ? "failed" : errors.length > 0 ? "partial" : "ok";
  return { window: { start: start.toISOString(), end: end.toISOString() }, status, observations, errors, warnings, notes, duration_ms: Math.round(performance.now() - started) };
}
