import type { NextFunction, Request, RequestHandler, Response } from "express";
import { authorize } from "./auth.js";
import type { RouteSpec } from "./routes.js";

/** The metrics label of a request answered here (express' own `req.route` is not set). */
export const HOT_ROUTE = Symbol("pinset.hotRoute");

interface HotRoute {
  methods: ReadonlySet<string>;
  pattern: RegExp;
  paramNames: string[];
  /** The label the router would give: prefix + the declared path. */
  template: string;
  handlers: RequestHandler[];
}

/**
 * The route's path as one regular expression over `req.url`, with express' defaults: case
 * insensitive, an optional trailing slash, the query string not part of the match. A parameter
 * never contains `%`: an encoded name is left to the router, which decodes it.
 */
function compile(template: string): { pattern: RegExp; paramNames: string[] } {
  const paramNames: string[] = [];
  const source = template
    .split("/")
    .map((segment) => {
      if (segment.startsWith(":")) {
        paramNames.push(segment.slice(1));
        return "([^/?#%]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { pattern: new RegExp(`^${source}/?(?:\\?|$)`, "i"), paramNames };
}

/**
 * The routes marked `hot` (resolve), answered ahead of the service routes and the ~60 routes of
 * /v1: one precompiled pattern per route, tried by one app-level middleware, then the route's
 * chain — `chain` (what the prefix runs before its routes: for /v1 the JSON body parser,
 * authentication and the rate limit), the route's scope check, its handlers. These are the very
 * middleware the /v1 router runs, in the same order, and errors go to the same error handler,
 * so the answer is the same whichever mount serves the request; the routes stay mounted under
 * the prefix too, for whatever this middleware leaves to the router.
 */
export function hotRoutes(prefix: string, chain: RequestHandler[], specs: RouteSpec[]): RequestHandler {
  const routes: HotRoute[] = specs
    .filter((spec) => spec.hot)
    .map((spec) => {
      const template = `${prefix}${spec.path}`;
      const handlers = Array.isArray(spec.handler) ? spec.handler : [spec.handler];
      // An express `get` route answers HEAD too.
      const methods = new Set(spec.method === "get" ? ["GET", "HEAD"] : [spec.method.toUpperCase()]);
      return { methods, template, ...compile(template), handlers: [...chain, authorize(spec.scope), ...handlers] };
    });
  return (req, res, next) => {
    for (const route of routes) {
      if (!route.methods.has(req.method)) continue;
      const match = route.pattern.exec(req.url);
      if (!match) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < route.paramNames.length; i++) params[route.paramNames[i]!] = match[i + 1]!;
      req.params = params;
      (req as Request & { [HOT_ROUTE]?: string })[HOT_ROUTE] = route.template;
      run(route.handlers, req, res, next);
      return;
    }
    next();
  };
}

/**
 * Calls `handlers` in turn as express does: each gets a `next`; a throw, a rejected promise or
 * `next(err)` ends the chain with the error (the app's error handler answers it).
 */
function run(handlers: RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  // A property, not a named const: tsx (keepNames) would rename a named closure on every request.
  const chain = { index: 0, next: done };
  chain.next = (err?: unknown) => {
    if (err !== undefined && err !== null && err !== "route" && err !== "router") {
      done(err);
      return;
    }
    const handler = err === undefined || err === null ? handlers[chain.index++] : undefined;
    if (!handler) {
      done();
      return;
    }
    try {
      const result: unknown = handler(req, res, chain.next);
      if (result instanceof Promise) result.then(undefined, (error: unknown) => chain.next(error ?? new Error("Rejected promise")));
    } catch (error) {
      chain.next(error);
    }
  };
  chain.next();
}
