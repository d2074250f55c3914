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
 */
import { z } from "zod";
import { UnprocessableError, type FieldError } from "../errors.js";
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
const stepsSchema = z
  .array(
    z
      .number({ error: "must be a finite number" })
      .refine((p) => p > 0 && isValidPercent(p), {
        error: "must be a percent in (0, 100] in steps of 0.01",
      }),
  )
  .min(1, { error: "at least one step is required" })
  .max(100, { error: "at most 100 steps" });

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
    p.steps.forEach((step, i) => {
      const previous = p.steps[i - 1];
      if (previous !== undefined && !(step > previous)) {
        const message = `must be greater than the previous step (${previous})`;
        ctx.addIssue({ code: "custom", path: ["steps", i], message });
      }
    });
    const last = p.steps.length - 1;
    if (last >= 0 && p.steps[last] !== 100) {
      ctx.addIssue({ code: "custom", path: ["steps", last], message: "the last step must be 100" });
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
 * are replaced whole) and checks the result is consistent. Throws UnprocessableError (422) with
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
    steps: [...(p.steps ?? base.steps)],
  };
  const full = gatePolicySchema.safeParse(merged);
  if (!full.success) {
    throw new UnprocessableError("The gate policy is inconsistent", toFieldErrors(full.error.issues));
  }
  return full.data;
}

/** The first step above `percent`, or undefined when the rollout is at (or past) the last one. */
export function nextStep(policy: Pick<GatePolicy, "steps">, percent: number): number | undefined {
  return policy.steps.find((step) => step > percent + 1e-9);
}
