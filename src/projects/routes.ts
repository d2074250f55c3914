import { z } from "zod";
import { actorOf, principalOf } from "../http/context.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput, projectParams } from "../http/validate.js";
import type { ProjectService } from "./service.js";

const projectBody = z.strictObject({ description: z.string().max(10_000).optional() });

export function projectRoutes(projects: ProjectService): RouteSpec[] {
  return [
    {
      method: "put",
      path: "/projects/:project",
      scope: "admin",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const body = parseInput(projectBody, req.body ?? {}, "body");
        const result = await projects.ensure(actorOf(req, res), project, body.description ?? null);
        res.status(result.created ? 201 : 200).json(result.project);
      },
    },
    {
      method: "get",
      path: "/projects",
      scope: "read",
      async handler(req, res) {
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await projects.list(principalOf(res), page));
      },
    },
  ];
}
