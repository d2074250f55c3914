import type { NextFunction, Request, RequestHandler, Response } from "express";
import { NotFoundError } from "../core/errors.js";

/**
 * Runs a route's handlers the way express' router runs a matched route's: each in turn on
 * `next()`; a thrown error, a rejected promise or `next(err)` goes to `fail` (the app's error
 * handler) once. A chain whose last handler calls `next()` (or `next("route")`) answers 404 as
 * the router's not-found handler would: the lane's routes end their answer themselves.
 */
export function runHandlers(handlers: readonly RequestHandler[], req: Request, res: Response, fail: (err: unknown) => void): void {
  let index = 0;
  let failed = false;
  const failOnce = (err: unknown) => {
    if (failed) return;
    failed = true;
    fail(err);
  };
  const notFound = () => new NotFoundError(`No route for ${req.method} ${req.path}`);
  const next: NextFunction = (err?: unknown) => {
    // As the router reads them: "route" and "router" leave the route (for none after it here).
    if (err === "route" || err === "router") return failOnce(notFound());
    if (err) return failOnce(err);
    const handler = handlers[index++];
    if (!handler) return failOnce(notFound());
    try {
      const result = handler(req, res, next) as unknown;
      if (result instanceof Promise) result.then(undefined, (e: unknown) => failOnce(e ?? new Error("Rejected promise")));
    } catch (e) {
      failOnce(e);
    }
  };
  next();
}
