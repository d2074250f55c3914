import { z } from "zod";
import { actorOf, principalOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput, projectParams } from "../http/validate.js";
import type { EnvironmentService } from "../environments/service.js";
import { terminalUnsafeProblem } from "../core/terminal-text.js";
import { renderRunbook } from "./runbook.js";
import type { IncidentService } from "./service.js";

const incidentParams = z.object({ project: nameSchema, id: z.string().regex(/^inc_[0-9a-f]{24}$/, "must be an incident id (inc_ and 24 hex digits)") });
/** Shown in terminals and the runbook: no control or format characters (a note may span lines). */
const text = (max: number, lines = false) =>
  z.string().trim().min(1, "must not be empty").max(max).superRefine((value, ctx) => {
    const problem = terminalUnsafeProblem(lines ? value.replace(/[\n\t]/g, " ") : value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const listQuery = pageQuerySchema.extend({
  state: z.enum(["open", "mitigated", "closed"], { error: "must be open, mitigated or closed" }).optional(),
  environment: nameSchema.optional(),
});
const openBody = z.strictObject({
  environment: nameSchema,
  severity: z.enum(["sev1", "sev2", "sev3"], { error: "must be sev1, sev2 or sev3" }),
  summary: text(2000),
});
const noteBody = z.strictObject({ text: text(10_000, true) });
const envParams = z.object({ project: nameSchema, env: nameSchema });
const closeBody = z.union([
  z.strictObject({ regression_set: z.string().min(1).max(300), summary: text(2000).optional() }),
  z.strictObject({ waive: z.literal(true), reason: text(2000), summary: text(2000).optional() }),
], { error: 'must be {"regression_set": "evalset/<name>@<version>", "summary"} or, for an admin, {"waive": true, "reason"}' });

/** A token limited to some environments sees only their incidents (others answer 404, like environments). */
/** Scopes: reading needs `read`; opening, notes and closing `deploy` (a waiver admin, checked in the service). */
export function incidentRoutes(deps: { incidents: IncidentService; environments: EnvironmentService }): RouteSpec[] {
  const { incidents, environments } = deps;
  const base = "/projects/:project/incidents";
  return [
    {
      method: "get",
      path: "/projects/:project/environments/:env/runbook",
      scope: "read",
      async handler(req, res) {
        const { project, env } = parseInput(envParams, req.params, "params");
        const key = { project, environment: env };
        const [facts, incident] = await Promise.all([environments.runbookFacts(key), incidents.openOf(key)]);
        const rollout = facts.environment.rollout as { id: string; candidate: string; percent: number; state: string } | null;
        const markdown = renderRunbook({
          baseUrl: `${req.protocol}://${req.get("host") ?? "localhost"}`,
          project,
          environment: env,
          active: facts.environment.active,
          revision: facts.environment.revision,
          frozen: facts.environment.frozen,
          fallback: facts.environment.fallback,
          liveSince: facts.liveSince,
          rollbackTarget: facts.rollbackTarget,
          rollout: rollout ? { id: rollout.id, candidate: rollout.candidate, percent: rollout.percent, state: rollout.state } : null,
          incident: incident ?? null,
        });
        res.type("text/markdown; charset=utf-8").send(markdown);
      },
    },
    {
      method: "get",
      path: base,
      scope: "read",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const query = parseInput(listQuery, req.query, "query");
        res.json(await incidents.list(principalOf(res), project, query));
      },
    },
    {
      method: "post",
      path: base,
      scope: "deploy",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const body = parseInput(openBody, req.body, "body");
        res.status(201).json(await incidents.open(actorOf(req, res), principalOf(res), project, body));
      },
    },
    {
      method: "get",
      path: `${base}/:id`,
      scope: "read",
      async handler(req, res) {
        const { project, id } = parseInput(incidentParams, req.params, "params");
        res.json(await incidents.get(principalOf(res), project, id));
      },
    },
    {
      method: "post",
      path: `${base}/:id/notes`,
      scope: "deploy",
      async handler(req, res) {
        const { project, id } = parseInput(incidentParams, req.params, "params");
        const body = parseInput(noteBody, req.body, "body");
        res.status(201).json(await incidents.addNote(actorOf(req, res), principalOf(res), project, id, body.text));
      },
    },
    {
      method: "post",
      path: `${base}/:id/close`,
      scope: "deploy",
      async handler(req, res) {
        const { project, id } = parseInput(incidentParams, req.params, "params");
        const body = parseInput(closeBody, req.body, "body");
        const input = "waive" in body
          ? { waive: true, reason: body.reason, ...(body.summary ? { summary: body.summary } : {}) }
          : { regressionSet: body.regression_set, ...(body.summary ? { summary: body.summary } : {}) };
        res.json(await incidents.close(actorOf(req, res), principalOf(res), project, id, input));
      },
    },
  ];
}
