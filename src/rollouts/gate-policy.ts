/**
 * The gate policy: the thresholds `decide()` applies per metric line, and the percent steps
 * `advance` walks through. DEFAULT_GATE_POLICY is API.md's table; `PUT …/gate-policy` sends any
 * part of it and the rest keeps its current (by default, the default) value.
 *
 * Invariant checked here, so `decide()` never meets it: every line's bands are nested —
 * quality    pass_drop ≤ hold_drop ≤ pause_drop   (candidate ≥ baseline − drop)
 * latency    pass_ratio ≤ hold_ratio ≤ pause_ratio (candidate ≤ baseline × ratio)
 * cost       pass_ratio ≤ hold_ratio ≤ pause_ratio
 * and the steps rise strictly to exactly 100.
 *
 * The statistical gate and the schedule (issue 14) add, each with a default so that a policy
 * stored before them still parses and keeps its meaning:
 *   confidence            0.95   the intervals' level, 0.5 … 0.999 (α = 1 − confidence)
 *   required_segments     {}     {"attack": 50, …}: the candidate must have served at least that
 *                                many requests of each named segment before the gate passes
 *   steps                        each a percent (as before) or {"percent", "bake_seconds",
 *                                "min_samples"} (either of the last two may be left out)
 *   default_bake_seconds  21600  a step's bake when it does not say (6 h: 4 steps ≈ a day)
 *   default_min_samples   500    trials per side per step when a step does not say
 *   max_bake_factor       3      a step whose samples stay short pauses after this × its bake
 * `normaliseSteps(policy)` gives every step as a full object; `stepAt` the step for a percent.
 * The bake and min_samples of the last step (100) are never used: reaching it promotes.
 * Whether the registry advances by itself is the rollout's `auto` flag, not the policy's.
 */
import { z } from "zod";
import { NAME_PATTERN } from "../core/names.js";
import { UnprocessableError, type FieldError } from "../core/errors.js";
import { isValidPercent } from "./assignment.js";

const drop = z
  .number({ error: "must be a finite number between 0 and 1" })
  .min(0, { error: "must be between 0 and 1" })
  .max(1, { error: "must be between 0 and 1" });
const ratio = z
  .number({ error: "must be a finite number > 0" })
  .positive({ error: "must be > 0" });

const qualitySchema = z.strictObject({
  pass_drop: drop,
  hold_drop: drop,
  pause_drop: drop,
});
const latencySchema = z.strictObject({
  pass_ratio: ratio,
  hold_ratio: ratio,
  pause_ratio: ratio,
  timeout_rate_ratio: z
    .number({ error: "must be a finite number ≥ 1" })
    .min(1, { error: "must be ≥ 1 (below 1 a candidate with fewer timeouts would roll back)" }),
});
const costSchema = z.strictObject({
  pass_ratio: ratio,
  hold_ratio: ratio,
  pause_ratio: ratio,
});
const riskSchema = z.strictObject({
  max_events: z.int({ error: "must be a whole number ≥ 0" }).min(0, { error: "must be ≥ 0" }),
});
/** 30 days: a longer bake is a typo, not a plan. */
export const MAX_BAKE_SECONDS = 30 * 86_400;
const bakeSeconds = z
  .int({ error: `must be a whole number of seconds between 0 and ${MAX_BAKE_SECONDS}` })
  .min(0, { error: "must be ≥ 0 seconds" })
  .max(MAX_BAKE_SECONDS, { error: `must be at most ${MAX_BAKE_SECONDS} seconds (30 days)` });
const minSamples = z
  .int({ error: "must be a whole number ≥ 0" })
  .min(0, { error: "must be ≥ 0" })
  .max(1_000_000_000, { error: "must be at most 1 000 000 000" });
const percent = z
  .number({ error: "must be a finite number" })
  .refine((p) => p > 0 && isValidPercent(p), {
    error: "must be a percent in (0, 100] in steps of 0.01",
  });
const stepObject = z.strictObject({
  percent,
  bake_seconds: bakeSeconds.optional(),
  min_samples: minSamples.optional(),
});

export type PolicyStep = number | z.infer<typeof stepObject>;

/** A number or a step object; the dispatch (rather than z.union) keeps the object's issue paths. */
const step = z.unknown().transform((value, ctx): PolicyStep => {
  const schema = typeof value === "number" ? percent : typeof value === "object" && value !== null && !Array.isArray(value) ? stepObject : undefined;
  if (schema === undefined) {
    ctx.addIssue({ code: "custom", message: 'must be a percent or {"percent", "bake_seconds", "min_samples"}' });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    for (const key of keys) {
      ctx.addIssue({ code: "custom", path: key === undefined ? issue.path : [...issue.path, key], message: key === undefined ? issue.message : "unknown field" });
    }
  }
  return z.NEVER;
});

const stepsSchema = z
  .array(step, { error: "must be an array of steps" })
  .min(1, { error: "at least one step is required" })
  .max(100, { error: "at most 100 steps" });

const confidenceSchema = z
  .number({ error: "must be a number between 0.5 and 0.999" })
  .min(0.5, { error: "must be between 0.5 and 0.999" })
  .max(0.999, { error: "must be between 0.5 and 0.999" });

export const MAX_REQUIRED_SEGMENTS = 50;
const requiredSegmentsSchema = z
  .record(z.string(), z.unknown(), { error: 'must be an object of segment name → minimum count, e.g. {"attack": 50}' })
  .superRefine((segments, ctx) => {
    const names = Object.keys(segments);
    if (names.length > MAX_REQUIRED_SEGMENTS) ctx.addIssue({ code: "custom", message: `at most ${MAX_REQUIRED_SEGMENTS} segments` });
    for (const name of names) {
      if (!NAME_PATTERN.test(name)) {
        ctx.addIssue({ code: "custom", path: [name], message: "segment names must match ^[a-z0-9][a-z0-9._-]{0,127}$ (lowercase letters, digits, . _ -)" });
      }
      const n = segments[name];
      if (!(typeof n === "number" && Number.isSafeInteger(n) && n >= 1)) {
        ctx.addIssue({ code: "custom", path: [name], message: "must be a whole number ≥ 1 (the requests the candidate must serve in that segment)" });
      }
    }
  })
  .transform((segments) => segments as Record<string, number>);

const maxBakeFactorSchema = z
  .number({ error: "must be a number between 1 and 100" })
  .min(1, { error: "must be ≥ 1 (a step cannot give up before its bake is over)" })
  .max(100, { error: "must be at most 100" });

/** A step's percent, whichever form it has. */
export const percentOf = (s: PolicyStep): number => (typeof s === "number" ? s : s.percent);

function checkBands(
  ctx: z.RefinementCtx,
  line: string,
  names: readonly [string, string, string],
  values: readonly [number, number, number],
  looser: string,
): void {
  for (let i = 0; i < 2; i++) {
    if (values[i]! > values[i + 1]!) {
      ctx.addIssue({
        code: "custom",
        path: [line, names[i + 1]!],
        message: `${names[i + 1]} (${values[i + 1]}) must be ≥ ${names[i]} (${values[i]}): ${looser}`,
      });
    }
  }
}

/** A complete, consistent policy. */
export const gatePolicySchema = z
  .strictObject({
    quality: qualitySchema,
    latency: latencySchema,
    cost: costSchema,
    risk: riskSchema,
    steps: stepsSchema,
    confidence: confidenceSchema,
    required_segments: requiredSegmentsSchema,
    default_bake_seconds: bakeSeconds,
    default_min_samples: minSamples,
    max_bake_factor: maxBakeFactorSchema,
  })
  .superRefine((p, ctx) => {
    const q = p.quality;
    checkBands(ctx, "quality", ["pass_drop", "hold_drop", "pause_drop"],
      [q.pass_drop, q.hold_drop, q.pause_drop],
      "a later band must allow a larger drop below the baseline");
    for (const line of ["latency", "cost"] as const) {
      const r = p[line];
      checkBands(ctx, line, ["pass_ratio", "hold_ratio", "pause_ratio"],
        [r.pass_ratio, r.hold_ratio, r.pause_ratio],
        "a later band must allow a larger ratio to the baseline");
    }
    // A step object's percent is named in full (steps.2.percent); a plain step is the percent.
    const at = (i: number) => (typeof p.steps[i] === "number" ? ["steps", i] : ["steps", i, "percent"]);
    p.steps.forEach((s, i) => {
      const previous = p.steps[i - 1];
      if (previous !== undefined && !(percentOf(s) > percentOf(previous))) {
        const message = `must be greater than the previous step (${percentOf(previous)})`;
        ctx.addIssue({ code: "custom", path: at(i), message });
      }
    });
    const last = p.steps.length - 1;
    if (last >= 0 && percentOf(p.steps[last]!) !== 100) {
      ctx.addIssue({ code: "custom", path: at(last), message: "the last step must be 100" });
    }
  });

export type GatePolicy = z.infer<typeof gatePolicySchema>;

/** What a client may send: any subset of the sections and of their fields. */
export const gatePolicyInputSchema = z.strictObject({
  quality: qualitySchema.partial().optional(),
  latency: latencySchema.partial().optional(),
  cost: costSchema.partial().optional(),
  risk: riskSchema.partial().optional(),
  steps: stepsSchema.optional(),
  confidence: confidenceSchema.optional(),
  required_segments: requiredSegmentsSchema.optional(),
  default_bake_seconds: bakeSeconds.optional(),
  default_min_samples: minSamples.optional(),
  max_bake_factor: maxBakeFactorSchema.optional(),
});

export type GatePolicyInput = z.infer<typeof gatePolicyInputSchema>;

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (typeof child === "object" && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}

export const DEFAULT_GATE_POLICY: GatePolicy = deepFreeze({
  quality: { pass_drop: 0, hold_drop: 0.03, pause_drop: 0.05 },
  latency: { pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.25, timeout_rate_ratio: 2 },
  cost: { pass_ratio: 1.1, hold_ratio: 1.15, pause_ratio: 1.25 },
  risk: { max_events: 0 },
  steps: [1, 5, 25, 50, 100],
  confidence: 0.95,
  required_segments: {},
  default_bake_seconds: 21_600,
  default_min_samples: 500,
  max_bake_factor: 3,
});

function toFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: [...issue.path, key].map(String).join("."),
          message: "unknown field",
        }))
      : [{ path: issue.path.map(String).join("."), message: issue.message }],
  );
}

/**
 * Validates `input` (a full or partial policy), merges it over `base` section by section (steps
 * and required_segments are replaced whole) and checks the result is consistent. Throws UnprocessableError (422) with
 * one `{path, message}` per problem.
 */
export function parseGatePolicy(input: unknown, base: GatePolicy = DEFAULT_GATE_POLICY): GatePolicy {
  const partial = gatePolicyInputSchema.safeParse(input);
  if (!partial.success) {
    throw new UnprocessableError("The gate policy is invalid", toFieldErrors(partial.error.issues));
  }
  const p = partial.data;
  const merged = {
    quality: { ...base.quality, ...p.quality },
    latency: { ...base.latency, ...p.latency },
    cost: { ...base.cost, ...p.cost },
    risk: { ...base.risk, ...p.risk },
    steps: (p.steps ?? base.steps).map((s) => (typeof s === "number" ? s : { ...s })),
    confidence: p.confidence ?? base.confidence,
    required_segments: { ...(p.required_segments ?? base.required_segments) },
    default_bake_seconds: p.default_bake_seconds ?? base.default_bake_seconds,
    default_min_samples: p.default_min_samples ?? base.default_min_samples,
    max_bake_factor: p.max_bake_factor ?? base.max_bake_factor,
  };
  const full = gatePolicySchema.safeParse(merged);
  if (!full.success) {
    throw new UnprocessableError("The gate policy is inconsistent", toFieldErrors(full.error.issues));
  }
  return full.data;
}

/** The first step above `percent`, or undefined when the rollout is at (or past) the last one. */
export function nextStep(policy: Pick<GatePolicy, "steps">, percent: number): number | undefined {
  return policy.steps.map(percentOf).find((p) => p > percent + 1e-9);
}

/** A step with every field filled in. */
export interface FullStep {
  percent: number;
  bake_seconds: number;
  min_samples: number;
}

type StepDefaults = Pick<GatePolicy, "steps" | "default_bake_seconds" | "default_min_samples">;

function fill(policy: StepDefaults, s: PolicyStep): FullStep {
  if (typeof s === "number") return { percent: s, bake_seconds: policy.default_bake_seconds, min_samples: policy.default_min_samples };
  return { percent: s.percent, bake_seconds: s.bake_seconds ?? policy.default_bake_seconds, min_samples: s.min_samples ?? policy.default_min_samples };
}

/** Every step as a full object: plain numbers take the policy's default bake and min_samples. */
export function normaliseSteps(policy: StepDefaults): FullStep[] {
  return policy.steps.map((s) => fill(policy, s));
}

/**
 * The step a rollout at `percent` is on: the policy's step of that percent, or — for a percent
 * set by hand that is no step of the policy — the defaults at that percent.
 */
export function stepAt(policy: StepDefaults, percent: number): FullStep {
  const found = policy.steps.find((s) => Math.abs(percentOf(s) - percent) < 1e-9);
  return found === undefined ? fill(policy, percent) : fill(policy, found);
}
