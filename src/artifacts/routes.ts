import { z } from "zod";
import { MethodNotAllowedError } from "../core/errors.js";
import { actorOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput, projectParams } from "../http/validate.js";
import { JsonText } from "../http/json-response.js";
import type { ArtifactCatalog } from "./catalog.js";
import { ARTIFACT_KINDS } from "./kinds/index.js";
import { parseArtifactRef, type ArtifactService } from "./service.js";

const kindSchema = z.enum(ARTIFACT_KINDS, { error: `must be one of ${ARTIFACT_KINDS.join(", ")}` });
const artifactParams = z.object({ project: nameSchema, kind: kindSchema, name: nameSchema });
const versionParams = artifactParams.extend({
  ref: z.string().transform((value, ctx) => {
    const ref = parseArtifactRef(value);
    if (!ref) {
      ctx.addIssue({ code: "custom", message: "must be a version number, a sha256 digest or latest" });
      return z.NEVER;
    }
    return ref;
  }),
});

const ANNOTATION_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const publishBody = z.strictObject({
  content: z.unknown().refine((v) => v !== undefined, "is required"),
  annotations: z
    .record(z.string().regex(ANNOTATION_KEY, "annotation keys are 1-128 of A-Z a-z 0-9 . _ / -"), z.string().max(4096))
    .refine((a) => Object.keys(a).length <= 64, "at most 64 annotations")
    .optional(),
});

const catalogQuery = pageQuerySchema.extend({
  kind: kindSchema.optional(),
  prefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "must be the start of an artifact name: 1-128 of a-z 0-9 . _ - (starting with a letter or digit)")
    .optional(),
});

const VERSION_PATH = "/projects/:project/artifacts/:kind/:name/versions/:ref";

function immutable(): RouteSpec["handler"] {
  return () => {
    throw new MethodNotAllowedError("Artifact versions are immutable: publish a new version instead", ["GET"]);
  };
}

export function artifactRoutes(deps: { artifacts: ArtifactService; catalog: ArtifactCatalog }): RouteSpec[] {
  const { artifacts, catalog } = deps;
  return [
    {
      method: "get",
      path: "/projects/:project/artifacts",
      scope: "read",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const query = parseInput(catalogQuery, req.query, "query");
        res.json(await catalog.list(project, query));
      },
    },
    {
      method: "post",
      path: "/projects/:project/artifacts/:kind/:name",
      scope: "publish",
      body: "json",
      async handler(req, res) {
        const key = parseInput(artifactParams, req.params, "params");
        const body = parseInput(publishBody, req.body, "body");
        const result = await artifacts.publish(actorOf(req, res), key, { content: body.content, annotations: body.annotations ?? {} });
        res.status(result.created ? 201 : 200).json(result.artifact);
      },
    },
    {
      method: "get",
      path: "/projects/:project/artifacts/:kind/:name",
      scope: "read",
      async handler(req, res) {
        const key = parseInput(artifactParams, req.params, "params");
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await artifacts.list(key, page));
      },
    },
    {
      method: "get",
      path: VERSION_PATH,
      scope: "read",
      direct: true,
      async handler(req, res) {
        const { ref, ...key } = parseInput(versionParams, req.params, "params");
        res.json(new JsonText(await artifacts.getJson(key, ref)));
      },
    },
    // Versions are immutable; these answer 405 with `allow: GET` rather than a 404.
    { method: "put", path: VERSION_PATH, scope: "publish", handler: immutable() },
    { method: "patch", path: VERSION_PATH, scope: "publish", handler: immutable() },
    { method: "delete", path: VERSION_PATH, scope: "publish", handler: immutable() },
  ];
}
