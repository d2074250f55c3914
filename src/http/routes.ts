import type { RequestHandler, Router } from "express";
import type { Scope } from "../auth/principal.js";
import { authorize } from "./auth.js";
import type { FastAnswer } from "./fast-lane.js";

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
  /**
   * The hottest read paths (resolve): the answer from memory, sent by the fast lane in front of
   * express when nothing else has to be decided (fast-lane.ts). The route stays mounted for
   * everything the lane leaves to the router; both must answer alike.
   */
  fast?: FastAnswer;
}

export function mountRoutes(router: Router, specs: RouteSpec[], registry: RouteSpec[]): void {
  for (const spec of specs) {
    const handlers = Array.isArray(spec.handler) ? spec.handler : [spec.handler];
    router[spec.method](spec.path, authorize(spec.scope), ...handlers);
    registry.push(spec);
  }
}
