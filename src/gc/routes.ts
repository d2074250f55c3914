import { z } from "zod";
import { actorOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput } from "../http/validate.js";
import type { GcService } from "./service.js";
import { retentionBody } from "./settings.js";

const projectParams = z.object({ project: nameSchema });
const gcBody = z.strictObject({ dry_run: z.boolean().optional(), project: nameSchema.optional() });

export function gcRoutes(deps: { gc: GcService }): RouteSpec[] {
  const { gc } = deps;
  return [
    {
      method: "get",
      path: "/projects/:project/retention",
      scope: "read",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        res.json(await gc.retention(project));
      },
    },
    {
      method: "put",
      path: "/projects/:project/retention",
      scope: "admin",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const body = parseInput(retentionBody, req.body ?? {}, "body");
        res.json(await gc.setRetention(actorOf(req, res), project, body));
      },
    },
    {
      method: "post",
      path: "/admin/gc",
      scope: "admin",
      async handler(req, res) {
        const body = parseInput(gcBody, req.body ?? {}, "body");
        const run = await gc.run({
          dryRun: body.dry_run ?? false,
          ...(body.project !== undefined ? { project: body.project } : {}),
          trigger: "api",
          actor: actorOf(req, res),
        });
        res.json(run);
      },
    },
    {
      method: "get",
      path: "/admin/gc/runs",
      scope: "admin",
      async handler(req, res) {
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await gc.runs(page));
      },
    },
  ];
}
