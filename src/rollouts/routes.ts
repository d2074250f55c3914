import { z } from "zod";
import { canSeeEnvironment } from "../core/principal.js";
import type { EnvironmentView } from "../environments/service.js";
import { actorOf, principalOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { rfc3339Schema } from "../http/time.js";
import { parseInput } from "../http/validate.js";
import type { GateService } from "./gate-service.js";
import type { RolloutService } from "./service.js";

const envParams = z.object({ project: nameSchema, env: nameSchema });
const evidenceParams = z.object({ project: nameSchema, id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be an evidence pack id") });

// Any string: a set that does not exist (or is not in the rollout) is a 422 from the service.
const setRef = z.string().min(1).max(128);
const reason = z.string().max(1024);
const subject = z.string().min(1).max(512);

const startBody = z.strictObject({
  candidate: setRef,
  percent: z.number({ error: "must be a number" }),
  allow: z.array(subject).max(10_000).optional(),
  auto: z.boolean().optional(),
  reason: reason.optional(),
  acknowledge_incident: z.string().min(1).max(64).optional(),
});
const advanceBody = z.strictObject({ percent: z.number({ error: "must be a number" }).optional(), force: z.boolean().optional(), reason: reason.optional() });
const reasonBody = z.strictObject({ reason: reason.optional() });
const observationBody = z.strictObject({
  version_set: setRef,
  window_start: rfc3339Schema,
  window_end: rfc3339Schema,
  metrics: z.unknown().refine((value) => value !== undefined, { error: "is required" }),
  // Checked by the service with the metrics (422 naming the path, like a malformed sample).
  requests: z.unknown().optional(),
  segments: z.unknown().optional(),
  sample_trace_ids: z
    .array(z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1–128 characters of [A-Za-z0-9._:-]"))
    .max(1000)
    .optional(),
});
// The policy's own schema (gate-policy.ts) answers 422 for its content; here only "an object".
const policyBody = z.looseObject({});

/**
 * Rollouts, gates, observations, evidence, freeze and unfreeze. Scopes: changes `deploy` (protected
 * environments additionally need a token that names them: checked in the service, under the
 * environment row lock); reads `read`; unfreeze `admin`.
 */
export function rolloutRoutes(deps: {
  rollouts: RolloutService;
  gates: GateService;
  environments: { get(key: { project: string; environment: string }): Promise<EnvironmentView> };
}): RouteSpec[] {
  const { rollouts, gates, environments } = deps;
  const base = "/projects/:project/environments/:env";
  const keyOf = (params: unknown) => {
    const { project, env } = parseInput(envParams, params, "params");
    return { project, environment: env };
  };
  const simpleStep = (name: "pause" | "resume" | "abort"): RouteSpec => ({
    method: "post",
    path: `${base}/rollout/${name}`,
    scope: "deploy",
    async handler(req, res) {
      const key = keyOf(req.params);
      const body = parseInput(reasonBody, req.body ?? {}, "body");
      res.json(await rollouts[name](actorOf(req, res), principalOf(res), key, body));
    },
  });
  return [
    {
      method: "put",
      path: `${base}/rollout`,
      scope: "deploy",
      // An allowlist of 10 000 subjects of up to 512 characters.
      body: "json",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(startBody, req.body, "body");
        res.status(201).json(await rollouts.start(actorOf(req, res), principalOf(res), key, body));
      },
    },
    {
      method: "get",
      path: `${base}/rollout`,
      scope: "read",
      async handler(req, res) {
        res.json(await rollouts.get(keyOf(req.params)));
      },
    },
    {
      method: "post",
      path: `${base}/rollout/advance`,
      scope: "deploy",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(advanceBody, req.body ?? {}, "body");
        res.json(await rollouts.advance(actorOf(req, res), principalOf(res), key, body));
      },
    },
    simpleStep("pause"),
    simpleStep("resume"),
    simpleStep("abort"),
    {
      method: "get",
      path: `${base}/rollout/decision`,
      scope: "read",
      async handler(req, res) {
        res.json(await rollouts.decision(keyOf(req.params)));
      },
    },
    {
      method: "post",
      path: `${base}/rollout/evidence`,
      scope: "deploy",
      async handler(req, res) {
        const key = keyOf(req.params);
        res.status(201).json(await rollouts.writeEvidence(actorOf(req, res), key));
      },
    },
    {
      method: "put",
      path: `${base}/gate-policy`,
      scope: "deploy",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(policyBody, req.body, "body");
        res.json(await gates.setPolicy(actorOf(req, res), principalOf(res), key, body));
      },
    },
    {
      method: "get",
      path: `${base}/gate-policy`,
      scope: "read",
      async handler(req, res) {
        res.json(await gates.policy(keyOf(req.params)));
      },
    },
    {
      method: "post",
      path: `${base}/observations`,
      scope: "deploy",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(observationBody, req.body, "body");
        const recorded = await gates.record(actorOf(req, res), principalOf(res), key, {
          versionSet: body.version_set,
          windowStart: body.window_start,
          windowEnd: body.window_end,
          metrics: body.metrics,
          ...(body.requests !== undefined ? { requests: body.requests } : {}),
          ...(body.segments !== undefined ? { segments: body.segments } : {}),
          ...(body.sample_trace_ids ? { sampleTraceIds: body.sample_trace_ids } : {}),
        });
        res.status(201).json(recorded);
      },
    },
    {
      method: "get",
      path: `${base}/observations`,
      scope: "read",
      async handler(req, res) {
        const key = keyOf(req.params);
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await gates.list(key, page));
      },
    },
    {
      method: "post",
      path: `${base}/freeze`,
      scope: "deploy",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(reasonBody, req.body ?? {}, "body");
        await rollouts.freeze(actorOf(req, res), principalOf(res), key, body);
        res.json(await environments.get(key));
      },
    },
    {
      method: "post",
      path: `${base}/unfreeze`,
      scope: "admin",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(reasonBody, req.body ?? {}, "body");
        await rollouts.unfreeze(actorOf(req, res), key, body);
        res.json(await environments.get(key));
      },
    },
    {
      method: "get",
      path: "/projects/:project/evidence/:id",
      scope: "read",
      async handler(req, res) {
        const { project, id } = parseInput(evidenceParams, req.params, "params");
        // The route has no :env for authorize(): an environment-restricted token sees only its own packs.
        const principal = principalOf(res);
        res.json(await rollouts.evidencePack(project, id, (environment) => canSeeEnvironment(principal, environment)));
      },
    },
  ];
}
