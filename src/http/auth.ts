import type { NextFunction, Request, RequestHandler, Response } from "express";
import { canSeeEnvironment, canSeeProject, hasScope, type Principal, type Scope } from "../core/principal.js";
import type { TokenLookup } from "./token-lookup.js";
import { ForbiddenError, NotFoundError, UnauthorizedError } from "../core/errors.js";
import { stateOf } from "./context.js";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The secret of an `Authorization: Bearer <secret>` header; undefined for anything else. */
export function bearerSecret(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" ? BEARER.exec(header)?.[1] : undefined;
}

/**
 * 401 unless the request carries a known, unexpired, unrevoked bearer token. `beforeRefusal`
 * runs before a 401 (the rate limiter charges the client address there and may answer 429).
 */
export function authenticate(resolver: Pick<TokenLookup, "resolve"> & Partial<Pick<TokenLookup, "peek">>, options: { beforeRefusal?: (req: Request) => void } = {}): RequestHandler {
  return (req, res, next) => {
    const secret = bearerSecret(req.headers.authorization);
    if (secret === undefined) {
      options.beforeRefusal?.(req);
      throw new UnauthorizedError("Missing Authorization: Bearer <token>");
    }
    // A token the resolver holds is answered without a promise (nearly every request).
    const known = resolver.peek?.(secret);
    if (known !== undefined) return admit(req, res, next, known, options.beforeRefusal);
    return resolver.resolve(secret).then((principal) => admit(req, res, next, principal, options.beforeRefusal));
  };
}

function admit(req: Request, res: Response, next: NextFunction, principal: Principal | null, beforeRefusal?: (req: Request) => void): void {
  if (!principal) {
    beforeRefusal?.(req);
    throw new UnauthorizedError("The token is unknown, expired or revoked");
  }
  stateOf(res).principal = principal;
  next();
}

/**
 * Enforces a route's declared scope. Visibility comes first and answers 404, so a token cannot
 * learn that another team's project or environment exists; a visible resource without the
 * scope answers 403.
 */
export function authorize(scope: Scope): RequestHandler {
  return (req, res, next) => {
    const principal = stateOf(res).principal;
    if (!principal) throw new UnauthorizedError();
    const refused = refusal(principal, req.params as RouteParams, scope);
    if (refused) throw refused;
    next();
  };
}

type RouteParams = Readonly<Record<string, string | undefined>>;

/** Why `principal` may not call a route with these params and this scope; undefined: it may. */
export function refusal(principal: Principal, params: RouteParams, scope: Scope): Error | undefined {
  if (params.project !== undefined && !canSeeProject(principal, params.project)) {
    return new NotFoundError(`Project ${params.project} not found`);
  }
  if (params.env !== undefined && !canSeeEnvironment(principal, params.env)) {
    return new NotFoundError(`Environment ${params.env} not found`);
  }
  if (!hasScope(principal, scope)) {
    return new ForbiddenError(`This route needs the ${scope} scope, which the token does not have`);
  }
  return undefined;
}
