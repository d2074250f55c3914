import { z } from "zod";
import { principalOf } from "../http/context.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { rfc3339Schema } from "../http/time.js";
import { parseInput, projectParams } from "../http/validate.js";
import type { ProjectService } from "../projects/service.js";
import type { AuditService } from "./service.js";

const auditQuery = pageQuerySchema.extend({
  action: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "must be an action name like environment.deploy").optional(),
  since: rfc3339Schema.optional(),
  until: rfc3339Schema.optional(),
  // Token names are printable text on one line (auth/routes.ts); an actor filter is the same.
  actor: z.string().min(1).max(128).regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, "must be a token name (printable text on one line)").optional(),
  target: z
    .string()
    .min(1)
    .max(300)
    .regex(/^[A-Za-z0-9._:@/-]+\*?$/, "must be a target like environment/prod, or a prefix ending in * like environment/prod*")
    .optional(),
  trace_id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be a trace id (1–128 of A-Z a-z 0-9 . _ : -)").optional(),
});

export function auditRoutes(deps: { audit: AuditService; projects: ProjectService }): RouteSpec[] {
  const { audit, projects } = deps;
  return [
    {
      // `read`, not `admin`: the people who may read a project's artifacts and environments
      // may also see who changed them. Audit rows hold no secrets by construction.
      method: "get",
      path: "/projects/:project/audit",
      scope: "read",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const query = parseInput(auditQuery, req.query, "query");
        await projects.require(project);
        // A token limited to some environments must not learn of the others here either.
        const principal = principalOf(res);
        const environments = principal.scopes.has("admin") || !principal.environments ? undefined : [...principal.environments];
        res.json(await audit.list(project, query, environments));
      },
    },
    {
      // Every entry, including those about no project (token create/revoke): admins only.
      method: "get",
      path: "/audit",
      scope: "admin",
      async handler(req, res) {
        const query = parseInput(auditQuery, req.query, "query");
        res.json(await audit.list(undefined, query));
      },
    },
  ];
}
