import { z } from "zod";
import { actorOf, principalOf } from "../http/context.js";
import { nameSchema } from "../core/names.js";
import { pageQuerySchema } from "../http/pagination.js";
import type { RouteSpec } from "../http/routes.js";
import { rfc3339Schema } from "../http/time.js";
import { parseInput } from "../http/validate.js";
import { SCOPES, type Principal } from "../core/principal.js";
import { expiryOf } from "./token-resolver.js";
import type { TokenService } from "./service.js";

const unique = <T>(items: T[]) => new Set(items).size === items.length;

/** Token names end up in audit rows, history and logs: printable, one line. */
const tokenName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, "must be printable text on one line (no control characters)")
  .refine((v) => v.trim().length > 0, "must not be blank");

const createTokenBody = z.strictObject({
  name: tokenName,
  scopes: z
    .array(z.enum(SCOPES, { error: `must be one of ${SCOPES.join(", ")}` }))
    .min(1, "at least one scope")
    .refine(unique, "scopes must be unique"),
  projects: z
    .array(z.union([z.literal("*"), nameSchema], { error: 'must be a project name or "*"' }))
    .min(1, 'at least one project (or ["*"] for all)')
    .max(1000)
    .refine(unique, "projects must be unique")
    .refine((p) => !p.includes("*") || p.length === 1, '"*" stands alone: it already means every project'),
  environments: z.array(nameSchema).min(1, "leave environments out rather than empty").max(1000).refine(unique, "environments must be unique").optional(),
  expires_at: rfc3339Schema.optional(),
});

/** Ids are ours (`tok_…`); anything else cannot name a token. */
const tokenParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "is not a token id") });

/** What the calling token may do (never its secret): the console greys out what it may not. */
export function presentSelf(principal: Principal) {
  const expiry = expiryOf(principal);
  return {
    id: principal.tokenId,
    name: principal.name,
    scopes: [...principal.scopes],
    projects: principal.projects === "*" ? ["*"] : [...principal.projects].sort(),
    environments: principal.environments ? [...principal.environments].sort() : null,
    expires_at: expiry === undefined ? null : new Date(expiry).toISOString(),
  };
}

export function tokenRoutes(tokens: TokenService): RouteSpec[] {
  return [
    {
      // Every token may ask who it is (`read` is implied by every scope).
      method: "get",
      path: "/tokens/self",
      scope: "read",
      handler(_req, res) {
        res.setHeader("cache-control", "no-store").json(presentSelf(principalOf(res)));
      },
    },
    {
      method: "post",
      path: "/tokens",
      scope: "admin",
      async handler(req, res) {
        const body = parseInput(createTokenBody, req.body, "body");
        const created = await tokens.create(actorOf(req, res), {
          name: body.name,
          scopes: body.scopes,
          projects: body.projects,
          ...(body.environments ? { environments: body.environments } : {}),
          ...(body.expires_at ? { expiresAt: body.expires_at } : {}),
        });
        res.status(201).setHeader("cache-control", "no-store").json(created);
      },
    },
    {
      method: "get",
      path: "/tokens",
      scope: "admin",
      async handler(req, res) {
        const page = parseInput(pageQuerySchema, req.query, "query");
        res.json(await tokens.list(page));
      },
    },
    {
      method: "delete",
      path: "/tokens/:id",
      scope: "admin",
      async handler(req, res) {
        const { id } = parseInput(tokenParams, req.params, "params");
        await tokens.revoke(actorOf(req, res), id);
        res.status(204).end();
      },
    },
  ];
}
