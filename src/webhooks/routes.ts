import { z } from "zod";
import { actorOf, principalOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { parseInput } from "../http/validate.js";
import { WEBHOOK_EVENTS } from "./events.js";
import type { WebhookService } from "./service.js";

const MAX_URL_LENGTH = 2048;

/**
 * An absolute http(s) URL, normalised by the WHATWG parser. Credentials in the URL are refused:
 * fetch cannot send them, and the list would show them to every admin.
 */
const urlSchema = z
  .string()
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an absolute http:// or https:// URL" });
      return z.NEVER;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      ctx.addIssue({ code: "custom", message: "must use http or https" });
      return z.NEVER;
    }
    if (url.username || url.password) {
      ctx.addIssue({ code: "custom", message: "must not contain credentials; receivers authenticate deliveries by their signature" });
      return z.NEVER;
    }
    if (url.href.length > MAX_URL_LENGTH) {
      ctx.addIssue({ code: "custom", message: `must be at most ${MAX_URL_LENGTH} characters once normalised` });
      return z.NEVER;
    }
    return url.href;
  });

const createBody = z.strictObject({
  url: urlSchema,
  events: z
    .array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(", ")}` }))
    .min(1, "must name at least one event")
    .refine((events) => new Set(events).size === events.length, "must not repeat an event"),
  secret: z.string().min(16, "must be at least 16 characters").max(256, "must be at most 256 characters"),
});

const projectParams = z.object({ project: nameSchema });
const webhookParams = z.object({ project: nameSchema, id: z.string().min(1).max(128) });

/**
 * Scopes: creating and deleting a webhook needs admin (it holds a secret and makes the registry
 * send traffic to a URL of the caller's choosing). Listing webhooks needs admin too, because
 * receiver URLs often embed credentials (Slack, Discord, Teams hooks) that a read token — e.g.
 * one deployed in every runtime service — must not learn. The delivery log carries no URL and
 * no secret, so any token that reads the project may see it — but only admin tokens see why a
 * delivery failed (status code, connection error): to anyone else that detail would be a probe
 * of what answers where on the registry's network.
 */
export function webhookRoutes(deps: { webhooks: WebhookService }): RouteSpec[] {
  const { webhooks } = deps;
  return [
    {
      method: "post",
      path: "/projects/:project/webhooks",
      scope: "admin",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const body = parseInput(createBody, req.body, "body");
        res.status(201).json(await webhooks.create(actorOf(req, res), project, body));
      },
    },
    {
      method: "get",
      path: "/projects/:project/webhooks",
      scope: "admin",
      async handler(req, res) {
        const { project } = parseInput(projectParams, req.params, "params");
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await webhooks.list(project, page));
      },
    },
    {
      method: "delete",
      path: "/projects/:project/webhooks/:id",
      scope: "admin",
      async handler(req, res) {
        const { project, id } = parseInput(webhookParams, req.params, "params");
        await webhooks.delete(actorOf(req, res), project, id);
        res.status(204).end();
      },
    },
    {
      method: "get",
      path: "/projects/:project/webhooks/:id/deliveries",
      scope: "read",
      async handler(req, res) {
        const { project, id } = parseInput(webhookParams, req.params, "params");
        const page = parseInput(pageQuerySchema, req.query, "query");
        const detailed = principalOf(res).scopes.has("admin");
        res.json(await webhooks.deliveries(project, id, page, { detailed }));
      },
    },
  ];
}
