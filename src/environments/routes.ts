import { parse as parseQueryString } from "node:querystring";
import type { Request, Response } from "express";
import { z } from "zod";
import { actorOf, principalOf, stateOf } from "../http/context.js";
import { isName, nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { rfc3339Schema } from "../http/time.js";
import { parseInput } from "../http/validate.js";
import { versionSetIdSchema } from "../version-sets/identity.js";
import type { EnvironmentService, ResolveAnswer } from "./service.js";
import type { EnvironmentKey } from "../core/environment-key.js";
import { watchRoute } from "./watch.js";
import type { WatchHub } from "./watch-hub.js";
import type { WatchStreams } from "./watch-streams.js";
import { matchesEtag, PreparedResolveResponses, resolveResponse } from "./resolve-response.js";

const projectParams = z.object({ project: nameSchema });
const envParams = z.object({ project: nameSchema, env: nameSchema });

const revision = z.number({ error: "must be a non-negative integer" }).int("must be a non-negative integer").min(0, "must be a non-negative integer");
const reason = z.string().max(1024);

const upsertBody = z.strictObject({ protected: z.boolean().optional(), fallback: versionSetIdSchema.nullable().optional() });
const degradeBody = z.strictObject({ reason: reason.optional() });
const deployBody = z.strictObject({
  version_set: versionSetIdSchema,
  expected_revision: revision.optional(),
  reason: reason.optional(),
  acknowledge_incident: z.string().min(1).max(64).optional(),
});
const rollbackBody = z.strictObject({ to: versionSetIdSchema.optional(), expected_revision: revision.optional(), reason: reason.optional() });

const SUBJECT_MAX_LENGTH = 512;

const resolveQuery = z
  .object({
    at: rfc3339Schema.optional(),
    subject: z.string().min(1).max(SUBJECT_MAX_LENGTH).optional(),
  })
  // A past rollout's assignment is not kept, so "what did this subject get then" has no answer.
  .refine((q) => q.at === undefined || q.subject === undefined, { message: "at and subject cannot be combined", path: ["subject"] });

/** What node:querystring decodes (`%`, `+`) or splits on (`&`): such a query is parsed by it. */
const NEEDS_PARSING = /[%+&]/;

/**
 * The subject of a query string that holds `subject` and nothing else, read as the router reads
 * it (express' query parser is node:querystring) and valid by resolveQuery's rules; undefined for
 * any other query, which the router then answers (its 400, or a parameter it ignores).
 */
function subjectOnly(query: string): string | undefined {
  // The common query, `subject=<value>` with nothing to decode or split, read as querystring would.
  if (query.startsWith("subject=") && !NEEDS_PARSING.test(query)) {
    const subject = query.slice("subject=".length);
    return subject.length >= 1 && subject.length <= SUBJECT_MAX_LENGTH ? subject : undefined;
  }
  const parsed = parseQueryString(query);
  let subject: unknown;
  for (const name in parsed) {
    if (name !== "subject" || subject !== undefined) return undefined;
    subject = parsed[name];
  }
  return typeof subject === "string" && subject.length >= 1 && subject.length <= SUBJECT_MAX_LENGTH ? subject : undefined;
}

function sendResolved(req: Request, res: Response, answer: ResolveAnswer): void {
  const response = resolveResponse(answer, matchesEtag(req, answer.etag));
  const { headers } = response;
  for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i]!, headers[i + 1]!);
  res.status(response.status).end(response.body);
}

/** The path's environment: two names that pass the name rule need no schema (nearly every request). */
function envKeyOf(req: Request): EnvironmentKey {
  const { project, env } = req.params as { project?: string; env?: string };
  if (isName(project) && isName(env)) return { project, environment: env };
  const parsed = parseInput(envParams, req.params, "params");
  return { project: parsed.project, environment: parsed.env };
}

/** Everything but a hit in memory: `?at=`, `?subject=`, or an environment not (or no longer) held. */
async function resolveFromStore(req: Request, res: Response, key: EnvironmentKey, environments: EnvironmentService): Promise<void> {
  const query = parseInput(resolveQuery, req.query, "query");
  const answer = await environments.resolve(key, {
    at: query.at,
    subject: query.subject,
    notModified: (etag) => matchesEtag(req, etag),
  });
  sendResolved(req, res, answer);
}

/**
 * Scopes: creating an environment or changing `protected` needs `deploy` (pipelines create
 * their own staging); deploy and rollback need `deploy`; everything else `read`. On a
 * protected environment, deploy, rollback and setting or lifting `protected` also need admin
 * or a deploy token that names the environment (requireDeployAccess, in the service).
 */
export function environmentRoutes(deps: { environments: EnvironmentService; watchHub: WatchHub; watchStreams: WatchStreams }): RouteSpec[] {
  const { environments } = deps;
  const base = "/projects/:project/environments/:env";
  const prepared = new PreparedResolveResponses();
  return [
    {
      method: "get",
      path: "/projects/:project/environments",
      scope: "read",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await environments.list(principalOf(res), project, page));
      },
    },
    {
      method: "put",
      path: base,
      scope: "deploy",
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        const body = parseInput(upsertBody, req.body ?? {}, "body");
        const result = await environments.ensure(actorOf(req, res), { project, environment: env }, { ...body, principal: principalOf(res) });
        res.status(result.created ? 201 : 200).json(result.environment);
      },
    },
    {
      method: "get",
      path: base,
      scope: "read",
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        res.json(await environments.get({ project, environment: env }));
      },
    },
    {
      method: "post",
      path: `${base}/deploy`,
      scope: "deploy",
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        const body = parseInput(deployBody, req.body, "body");
        const result = await environments.deploy(actorOf(req, res), { project, environment: env }, {
          principal: principalOf(res),
          versionSet: body.version_set,
          expectedRevision: body.expected_revision,
          reason: body.reason,
          acknowledgeIncident: body.acknowledge_incident,
        });
        res.json(result);
      },
    },
    {
      method: "post",
      path: `${base}/rollback`,
      scope: "deploy",
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        const body = parseInput(rollbackBody, req.body ?? {}, "body");
        const result = await environments.rollback(actorOf(req, res), { project, environment: env }, {
          principal: principalOf(res),
          to: body.to,
          expectedRevision: body.expected_revision,
          reason: body.reason,
        });
        res.json(result);
      },
    },
    {
      method: "post",
      path: `${base}/degrade`,
      scope: "deploy",
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        const body = parseInput(degradeBody, req.body ?? {}, "body");
        res.json(await environments.degrade(actorOf(req, res), { project, environment: env }, { principal: principalOf(res), reason: body.reason }));
      },
    },
    {
      method: "get",
      path: `${base}/history`,
      scope: "read",
      direct: true,
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await environments.history({ project, environment: env }, page));
      },
    },
    {
      method: "get",
      path: `${base}/resolve`,
      scope: "read",
      // Sent by the fast lane when memory holds it and nothing else needs deciding; the handler
      // answers everything else (and the same hit, when the lane left the request to the router).
      fast: (params, req, query) => {
        const { project, env } = params;
        if (!isName(project) || !isName(env)) return undefined;
        const key = { project, environment: env };
        if (query === undefined) {
          const hot = environments.hotAnswer(key);
          return hot && prepared.of(hot, req);
        }
        const subject = subjectOnly(query);
        const answer = subject === undefined ? undefined : environments.hotSubjectAnswer(key, subject);
        return answer && prepared.of(answer, req);
      },
      // Not async: the common answer (no query, bundle in memory) is sent without a promise.
      handler(req, res) {
        const key = envKeyOf(req);
        if (!req.url.includes("?")) {
          const hot = environments.hotAnswer(key);
          if (hot) {
            stateOf(res).quiet = true;
            sendResolved(req, res, hot);
            return;
          }
        }
        return resolveFromStore(req, res, key, environments);
      },
    },
    watchRoute({ hub: deps.watchHub, streams: deps.watchStreams }),
  ];
}
