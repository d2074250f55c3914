/**
 * Prometheus' `/api/v1/query` answer, parsed with zod, and the two readings an analysis makes of
 * it. Pure.
 *
 * The envelope (prometheus/prometheus web/api/v1): {"status": "success" | "error", "data": …,
 * "errorType"/"error" (on error; HTTP 400 bad_data, 422 execution, 503 timeout, …),
 * "warnings"/"infos": [string] (optional; data is still valid)}. Instant-query data is
 * {"resultType": "scalar" | "string", "result": [unix_seconds, "value"]} or
 * {"resultType": "vector", "result": [{"metric": {labels}, "value": [t, "value"]}]} (a native
 * histogram sample has "histogram" instead of "value"), or "matrix" for a range selector
 * (`x[5m]` on its own). Values are strings so that "NaN", "+Inf" and "-Inf" survive JSON.
 *
 *   queryAnswerSchema              the envelope
 *   singleValue(data)              one finite number: a scalar or a one-sample vector
 *   histogramBuckets(data)         one sample per `le` → cumulative buckets sorted by bound, "+Inf"
 *                                  last; counts rounded to whole (see below)
 * Both throw AnalysisError (empty_result, several_series, not_finite, wrong_type, invalid_value).
 */
import { z } from "zod";
import type { Bucket } from "../rollouts/analysis/samples.js";
import { AnalysisError } from "./errors.js";

const samplePair = z.tuple([z.number(), z.string()]);
const labels = z.record(z.string(), z.string());
const vectorSample = z.object({ metric: labels, value: samplePair.optional(), histogram: z.unknown().optional() });
const matrixSeries = z.object({ metric: labels, values: z.array(samplePair).optional(), histograms: z.unknown().optional() });

export const resultDataSchema = z.discriminatedUnion("resultType", [
  z.object({ resultType: z.literal("scalar"), result: samplePair }),
  z.object({ resultType: z.literal("string"), result: samplePair }),
  z.object({ resultType: z.literal("vector"), result: z.array(vectorSample) }),
  z.object({ resultType: z.literal("matrix"), result: z.array(matrixSeries) }),
]);

export type ResultData = z.infer<typeof resultDataSchema>;

const notes = z.array(z.string()).optional();

export const queryAnswerSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("success"), data: resultDataSchema, warnings: notes, infos: notes }),
  z.object({ status: z.literal("error"), errorType: z.string(), error: z.string(), data: z.unknown().optional(), warnings: notes, infos: notes }),
]);

export type QueryAnswer = z.infer<typeof queryAnswerSchema>;

/** A sample's value; "NaN", "+Inf" and "-Inf" are not_finite. */
export function parseSampleValue(text: string, where: string): number {
  if (text === "NaN" || text === "+Inf" || text === "-Inf") {
    throw new AnalysisError("not_finite", `${where} is ${text}${text === "NaN" ? " (e.g. 0/0: no requests in the window)" : ""}: no finite number to judge`);
  }
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) throw new AnalysisError("bad_response", `${where} is not a number: ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** `{a="b", c="d"}` for a message; at most `max` series shown. */
export function describeSeries(series: readonly { metric: Record<string, string> }[], max = 3): string {
  const shown = series.slice(0, max).map((s) => `{${Object.entries(s.metric).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")}}`);
  return shown.join(", ") + (series.length > max ? `, … (${series.length - max} more)` : "");
}

function wrongType(data: ResultData, expected: string): AnalysisError {
  const why =
    data.resultType === "matrix"
      ? "a range vector (matrix): wrap the range selector in a function, e.g. sum(increase(x[{{window}}]))"
      : "a string";
  return new AnalysisError("wrong_type", `the query returned ${why}; ${expected} is expected`);
}

/** One finite number: a scalar, or a vector of exactly one (float) sample. */
export function singleValue(data: ResultData): number {
  if (data.resultType === "scalar") return parseSampleValue(data.result[1], "the scalar");
  if (data.resultType !== "vector") throw wrongType(data, "one scalar or one vector sample");
  const series = data.result;
  if (series.length === 0) {
    throw new AnalysisError("empty_result", "the query returned no series: is the metric exported with this version_set, and has it been scraped twice in the window?");
  }
  if (series.length > 1) {
    throw new AnalysisError("several_series", `the query returned ${series.length} series where one is expected: ${describeSeries(series)}; aggregate them, e.g. sum(…)`);
  }
  const only = series[0]!;
  if (only.value === undefined) throw new AnalysisError("wrong_type", "the query returned a native histogram sample; one number is expected");
  return parseSampleValue(only.value[1], "the value");
}

/**
 * Cumulative buckets from one sample per `le`, as `sum by (le) (increase(x_bucket[…]))` gives
 * them. Counts are rounded to whole numbers: increase() extrapolates to the window's edges, so
 * it answers fractions (immaterial at canary sizes). Each bucket series is extrapolated on its
 * own, so a count may dip a hair below the one before it; as Prometheus' histogram_quantile
 * does, such a dip is raised to the previous count (cumulative counts never fall).
 */
export function histogramBuckets(data: ResultData): Bucket[] {
  if (data.resultType !== "vector") {
    throw data.resultType === "scalar"
      ? new AnalysisError("wrong_type", 'the query returned a scalar; one series per bucket bound ("le") is expected, e.g. sum by (le) (increase(x_bucket[{{window}}]))')
      : wrongType(data, "one series per bucket bound (le)");
  }
  const series = data.result;
  if (series.length === 0) throw new AnalysisError("empty_result", "the query returned no series: is the histogram exported with this version_set, and has it been scraped twice in the window?");
  const byBound = new Map<number | "+Inf", { count: number; metric: Record<string, string> }>();
  for (const s of series) {
    const le = s.metric.le;
    if (le === undefined) {
      throw new AnalysisError("wrong_type", `a series has no "le" label: ${describeSeries([s])}; sum the _bucket series by (le)`);
    }
    const bound = le === "+Inf" ? "+Inf" : Number(le);
    if (bound !== "+Inf" && (le.trim() === "" || !Number.isFinite(bound))) {
      throw new AnalysisError("bad_response", `a bucket bound is not a number: le=${JSON.stringify(le.slice(0, 40))}`);
    }
    const earlier = byBound.get(bound);
    if (earlier) {
      throw new AnalysisError("several_series", `several series have le="${le}": ${describeSeries([{ metric: earlier.metric }, s])}; aggregate them, e.g. sum by (le) (…)`);
    }
    if (s.value === undefined) throw new AnalysisError("wrong_type", "the query returned a native histogram sample; classic buckets (one series per le) are expected");
    const count = parseSampleValue(s.value[1], `the count at le="${le}"`);
    if (count < 0) throw new AnalysisError("invalid_value", `the count at le="${le}" is ${count}: bucket counts cannot be negative`);
    byBound.set(bound, { count, metric: s.metric });
  }
  if (!byBound.has("+Inf")) throw new AnalysisError("invalid_value", 'no "+Inf" bucket: the histogram\'s total is unknown (keep le="+Inf" in the query)');
  const bounds = [...byBound.keys()].sort((a, b) => (a === "+Inf" ? 1 : b === "+Inf" ? -1 : a - b));
  const buckets: Bucket[] = [];
  let floor = 0;
  for (const le of bounds) {
    const count = Math.max(floor, Math.round(byBound.get(le)!.count));
    buckets.push({ le, count });
    floor = count;
  }
  return buckets;
}
