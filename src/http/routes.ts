import type { RequestHandler, Router } from "express";
import type { Scope } from "../core/principal.js";
import { authorize } from "./auth.js";
import { stateOf } from "./context.js";
import { bodyReader, type BodyKind, type BodyLimits } from "./body-limits.js";
import type { CheckedFastAnswer, FastAnswer } from "./fast-answer.js";

export type HttpMethod = "get" | "head" | "post" | "put" | "patch" | "delete";

/**
 * A route declares its scope next to its handler; `mountRoutes` puts the scope check in front
 * of it, so no /v1 route can exist without one. The declarations are also kept for the test
 * that compares them with the OpenAPI document.
 */
export interface RouteSpec {
  method: HttpMethod;
  /** Express path relative to /v1, e.g. `/projects/:project/blobs/:digest`. */
  path: string;
  scope: Scope;
  handler: RequestHandler | RequestHandler[];
  /** What the route reads from its body and so its size limit (body-limits.ts); `small` unless said. */
  body?: BodyKind;
  /**
   * The hottest read paths (resolve): the answer from memory, sent by the fast lane in front of
   * express when nothing else has to be decided (fast-lane.ts). The route stays mounted for
   * everything the lane leaves to the router; both must answer alike.
   */
  fast?: FastAnswer;
  /**
   * A read whose handlers the fast lane runs itself when the request needs nothing else decided
   * (a bodiless GET, a cached token that may call it, a rate limit that admits it), skipping
   * express' router (fast-lane.ts). The handlers may use the request's params, query and
   * headers and the response's express methods — not `req.url` or `req.baseUrl`, which the
   * router rewrites for its mount path and the lane leaves as sent. The same handlers stay
   * mounted for everything else; test/integration/direct-routes.test.ts compares both answers.
   */
  direct?: true;
  /**
   * With `direct`: the answer memory holds for the request, sent by the lane once one database
   * read confirms it (fast-answer.ts), without the handlers; they run when it is not confirmed.
   */
  checked?: CheckedFastAnswer;
}

/**
 * Mounts each route behind its scope check and then its body reader: a request is authenticated
 * (by the router's guard) and authorised before a byte of its body is read.
 */
export function mountRoutes(router: Router, specs: RouteSpec[], registry: RouteSpec[], bodies: BodyLimits): void {
  const readers = { small: bodyReader("small", bodies), json: bodyReader("json", bodies), stream: bodyReader("stream", bodies) };
  for (const spec of specs) {
    const handlers = Array.isArray(spec.handler) ? spec.handler : [spec.handler];
    const check = authorize(spec.scope);
    const routed: RequestHandler = (req, res, next) => {
      stateOf(res).route = `${req.baseUrl}${spec.path}`;
      check(req, res, next);
    };
    router[spec.method](spec.path, routed, readers[spec.body ?? "small"], ...handlers);
    registry.push(spec);
  }
}
