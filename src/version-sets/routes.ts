import { z } from "zod";
import { actorOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput, projectParams } from "../http/validate.js";
import type { FastResponse } from "../http/fast-answer.js";
import { JsonText } from "../http/json-response.js";
import { diffPairOnly } from "./diff-query.js";
import { versionSetIdSchema } from "./identity.js";
import { MAX_REFERENCE_LENGTH } from "./references.js";
import type { VersionSetService } from "./service.js";

/** A set pins at most this many slots: enough for any application, small enough to resolve quickly. */
export const MAX_SLOTS = 256;

const setParams = projectParams.extend({ id: versionSetIdSchema });
const diffQuery = z.object({ from: versionSetIdSchema, to: versionSetIdSchema });

/** Each kept diff's answer as the fast lane writes it (the head `res.json` gives it, the body's bytes), built once. */
const diffResponses = new WeakMap<object, FastResponse>();
function diffResponse(diff: { readonly json: string }): FastResponse {
  let response = diffResponses.get(diff);
  if (!response) {
    const body = Buffer.from(diff.json);
    response = { status: 200, headers: ["content-type", "application/json; charset=utf-8", "content-length", String(body.length)], body };
    diffResponses.set(diff, response);
  }
  return response;
}

// Reference *syntax* is checked by the service (422 per slot, together with resolution);
// the body's shape is checked here (400).
const createBody = z.strictObject({
  components: z
    .record(nameSchema, z.string().max(MAX_REFERENCE_LENGTH, `a reference is at most ${MAX_REFERENCE_LENGTH} characters`))
    .refine((c) => Object.keys(c).length >= 1, "at least one component is required")
    .refine((c) => Object.keys(c).length <= MAX_SLOTS, `at most ${MAX_SLOTS} components`),
  code: z
    .strictObject({
      repo: z.string().min(1, "must not be empty").max(512, "at most 512 characters"),
      commit: z.string().min(1, "must not be empty").max(128, "at most 128 characters"),
    })
    .optional(),
  description: z.string().max(1024, "at most 1024 characters").optional(),
});

export function versionSetRoutes(deps: { versionSets: VersionSetService }): RouteSpec[] {
  const { versionSets } = deps;
  return [
    {
      method: "post",
      path: "/projects/:project/version-sets",
      scope: "publish",
      body: "json",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const body = parseInput(createBody, req.body, "body");
        const result = await versionSets.create(actorOf(req, res), project, {
          components: body.components,
          ...(body.code ? { code: body.code } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
        });
        res.status(result.created ? 201 : 200).json(result.set);
      },
    },
    {
      method: "get",
      path: "/projects/:project/version-sets",
      scope: "read",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await versionSets.list(project, page));
      },
    },
    {
      method: "get",
      path: "/projects/:project/version-sets/:id",
      scope: "read",
      async handler(req, res) {
        const { project, id } = parseInput(setParams, req.params, "params");
        res.json(await versionSets.get(project, id));
      },
    },
    {
      method: "get",
      path: "/projects/:project/version-sets/:id/bundle",
      scope: "read",
      async handler(req, res) {
        const { project, id } = parseInput(setParams, req.params, "params");
        // The cached serialization: the same bytes every time, never re-stringified.
        const { json, etag } = await versionSets.readBundle(project, id);
        res.status(200).set({ "content-type": "application/json; charset=utf-8", etag }).send(json);
      },
    },
    {
      method: "get",
      path: "/projects/:project/diff",
      scope: "read",
      direct: true,
      // A pair diffed before is kept with its JSON: the lane sends it once both sets' existence is read.
      checked: (params, _req, query) => {
        const pair = query === undefined ? undefined : diffPairOnly(query);
        const known = pair && versionSets.knownDiff(params.project!, pair.from, pair.to);
        if (!pair || !known) return undefined;
        return { response: diffResponse(known), confirm: () => versionSets.bothExist(params.project!, pair.from, pair.to) };
      },
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const { from, to } = parseInput(diffQuery, req.query, "query");
        res.json(new JsonText(await versionSets.diffJson(project, from, to)));
      },
    },
  ];
}
