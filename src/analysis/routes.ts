import { z } from "zod";
import { actorOf, principalOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput } from "../http/validate.js";
import type { AnalysisService } from "./service.js";

const envParams = z.object({ project: nameSchema, env: nameSchema });
// The config's own schema (config.ts) answers 422 for its content, with paths relative to the body.
const configBody = z.looseObject({});

/**
 * An environment's Prometheus analysis: the config (`deploy` to change, `read` to see; header
 * values are never answered) and the loop's runs.
 */
export function analysisRoutes(deps: { analysis: AnalysisService }): RouteSpec[] {
  const { analysis } = deps;
  const path = "/projects/:project/environments/:env/analysis";
  const keyOf = (params: unknown) => {
    const { project, env } = parseInput(envParams, params, "params");
    return { project, environment: env };
  };
  return [
    {
      method: "put",
      path,
      scope: "deploy",
      async handler(req, res) {
        const key = keyOf(req.params);
        const body = parseInput(configBody, req.body, "body");
        const { created, config } = await analysis.put(actorOf(req, res), principalOf(res), key, body);
        res.status(created ? 201 : 200).json(config);
      },
    },
    {
      method: "get",
      path,
      scope: "read",
      async handler(req, res) {
        res.json(await analysis.get(keyOf(req.params)));
      },
    },
    {
      method: "delete",
      path,
      scope: "deploy",
      async handler(req, res) {
        await analysis.delete(actorOf(req, res), principalOf(res), keyOf(req.params));
        res.status(204).end();
      },
    },
    {
      method: "get",
      path: `${path}/runs`,
      scope: "read",
      async handler(req, res) {
        const key = keyOf(req.params);
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await analysis.runs(key, page));
      },
    },
  ];
}
