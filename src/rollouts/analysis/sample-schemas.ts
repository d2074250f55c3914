/**
 * Validation of the sample forms (samples.ts) and of an observation's `requests` and `segments`.
 *
 * For the route (wiring):
 *   observedMetricsSchema (metrics.ts)  the body's `metrics`: plain numbers or samples, flat or
 *                                       nested; issue paths name the metric as one segment and
 *                                       then the field: ["quality.success_rate", "count"], which a
 *                                       body schema renders as `metrics.quality.success_rate.count`
 *   requestsSchema                      `requests`: a whole number ≥ 0
 *   segmentsSchema                      `segments`: {"<name>": whole ≥ 0}, names as other names
 *   observationSamplesBody              {requests?, segments?} to merge into the body schema
 * Everything malformed is reported at once; nothing is coerced (a numeric string is an error).
 */
import { z } from "zod";
import { NAME_PATTERN } from "../../core/names.js";
import type { MetricName } from "../metric-names.js";
import type { MetricValue } from "./samples.js";

const whole = (what = "a whole number ≥ 0") =>
  z.int({ error: `must be ${what}` }).min(0, { error: `must be ${what}` });

/** Requests may be counted per window from any source; bounded only by JSON's exact integers. */
export const requestsSchema = whole();

export const MAX_SEGMENTS = 100;

export const segmentsSchema = z
  .record(z.string(), z.unknown(), { error: 'must be an object of segment name → count, e.g. {"attack": 12}' })
  .superRefine((segments, ctx) => {
    const names = Object.keys(segments);
    if (names.length > MAX_SEGMENTS) ctx.addIssue({ code: "custom", message: `at most ${MAX_SEGMENTS} segments` });
    for (const name of names) {
      if (!NAME_PATTERN.test(name)) {
        ctx.addIssue({ code: "custom", path: [name], message: "segment names must match ^[a-z0-9][a-z0-9._-]{0,127}$ (lowercase letters, digits, . _ -)" });
      }
      const count = requestsSchema.safeParse(segments[name]);
      if (!count.success) ctx.addIssue({ code: "custom", path: [name], message: "must be a whole number ≥ 0" });
    }
  })
  .transform((segments) => segments as Record<string, number>);

/** The optional observation fields this module adds, for the observation body schema. */
export const observationSamplesBody = {
  requests: requestsSchema.optional(),
  segments: segmentsSchema.optional(),
};

const rateSample = z
  .strictObject({
    count: whole("a whole number ≥ 0 (events among the trials)"),
    trials: whole("a whole number ≥ 0"),
  })
  .superRefine((s, ctx) => {
    // Runs even when a field failed: compare only two valid counts.
    const valid = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
    if (valid(s.count) && valid(s.trials) && s.count > s.trials) ctx.addIssue({ code: "custom", path: ["count"], message: `must not exceed trials (${s.trials})` });
  });

export const MAX_BUCKETS = 1000;

const bound = z.union([z.number().min(0), z.literal("+Inf")], {
  error: 'must be a bucket bound in ms (a number ≥ 0) or "+Inf"',
});

const histogramSample = z
  .strictObject({
    buckets: z
      .array(z.strictObject({ le: bound, count: whole("a whole number ≥ 0 (cumulative)") }), { error: "must be an array of {le, count}" })
      .min(1, { error: 'at least the "+Inf" bucket is required' })
      .max(MAX_BUCKETS, { error: `at most ${MAX_BUCKETS} buckets` }),
  })
  .superRefine(({ buckets }, ctx) => {
    buckets.forEach((bucket, i) => {
      const previous = buckets[i - 1];
      const last = i === buckets.length - 1;
      if (bucket.le === "+Inf" && !last) {
        ctx.addIssue({ code: "custom", path: ["buckets", i, "le"], message: '"+Inf" must be the last bound' });
      }
      if (last && bucket.le !== "+Inf") {
        ctx.addIssue({ code: "custom", path: ["buckets", i, "le"], message: 'the last bound must be "+Inf" (its count is the window\'s total)' });
      }
      if (previous === undefined) return;
      if (typeof bucket.le === "number" && typeof previous.le === "number" && !(bucket.le > previous.le)) {
        ctx.addIssue({ code: "custom", path: ["buckets", i, "le"], message: `bounds must rise strictly: ${bucket.le} follows ${previous.le}` });
      }
      if (typeof bucket.count === "number" && typeof previous.count === "number" && bucket.count < previous.count) {
        ctx.addIssue({ code: "custom", path: ["buckets", i, "count"], message: `cumulative counts must not fall: ${bucket.count} follows ${previous.count}` });
      }
    });
  });

const meanSample = z.strictObject({
  mean: z.number({ error: "must be a finite number ≥ 0" }).min(0, { error: "must be ≥ 0" }),
  stddev: z.number({ error: "must be a finite number ≥ 0" }).min(0, { error: "must be ≥ 0 (a standard deviation)" }),
  count: z.int({ error: "must be a whole number ≥ 1" }).min(1, { error: "must be a whole number ≥ 1" }),
});

const rate = z.number({ error: "must be a finite number between 0 and 1" }).min(0, { error: "must be between 0 and 1" }).max(1, { error: "must be between 0 and 1" });
const nonNegative = z.number({ error: "must be a finite number ≥ 0" }).min(0, { error: "must be ≥ 0" });
const count = whole();

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A number parsed by `point`, or an object parsed by `sample`; anything else is one issue
 * saying both forms. The dispatch (rather than z.union) keeps the sample's own issue paths.
 */
function pointOrSample(point: z.ZodType<number>, sample: z.ZodType<object>, expected: string): z.ZodType<MetricValue> {
  return z.unknown().transform((value, ctx): MetricValue => {
    const schema = typeof value === "number" ? point : isPlainObject(value) ? sample : undefined;
    if (schema === undefined) {
      ctx.addIssue({ code: "custom", message: `must be ${expected}` });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data as MetricValue;
    for (const issue of parsed.error.issues) {
      const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
      for (const key of keys) {
        ctx.addIssue({
          code: "custom",
          path: key === undefined ? issue.path : [...issue.path, key],
          message: key === undefined ? issue.message : `unknown field; the sample form is ${expected.split(" or ")[1] ?? "documented"}`,
        });
      }
    }
    return z.NEVER;
  });
}

const FORMS = {
  rate: pointOrSample(rate, rateSample, 'a number between 0 and 1 or {"count", "trials"}'),
  histogram: pointOrSample(nonNegative, histogramSample, 'a number ≥ 0 or {"buckets": [{"le", "count"}, …, {"le": "+Inf", "count"}]}'),
  mean: pointOrSample(nonNegative, meanSample, 'a number ≥ 0 or {"mean", "stddev", "count"}'),
};

/** Each metric's value schema: the plain number as before, or its sample form; risk stays whole. */
export const OBSERVED_VALUE: Record<MetricName, z.ZodType<MetricValue>> = {
  "quality.success_rate": FORMS.rate,
  "quality.adoption_rate": FORMS.rate,
  "latency.p95_ms": FORMS.histogram,
  "latency.timeout_rate": FORMS.rate,
  "cost.tokens_per_request": FORMS.mean,
  "risk.injection_success": count,
  "risk.unauthorized_tool_calls": count,
  "risk.pii_leaks": count,
};

