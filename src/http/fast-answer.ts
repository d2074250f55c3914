import type { IncomingMessage } from "node:http";

/**
 * What a route hands the fast lane (fast-lane.ts) and the lane sends. Its own file so that the
 * route declarations (routes.ts) and the lane that reads them depend on it, not on each other.
 */

/**
 * A complete answer from memory. `headers` is flat (`name, value, name, value…`) and holds
 * everything but `x-trace-id` (the lane adds it), including `content-length` when there is a
 * body: the lane writes the head in one call.
 */
export interface FastResponse {
  readonly status: 200 | 304;
  readonly headers: readonly string[];
  readonly body?: Buffer;
}

/**
 * A route's answer when memory holds it, or undefined: then the router answers the request
 * as it answers every other. `params` are the path's parameters exactly as sent (no `%`).
 * `query` is the raw query string after `?` (undefined: the URL has no `?`); a route answers
 * only a query it reads exactly as the router's query parser would, and returns undefined for
 * any other (an unknown parameter, a repeated one, a value its schema refuses).
 */
export type FastAnswer = (params: Readonly<Record<string, string>>, req: IncomingMessage, query: string | undefined) => FastResponse | undefined;

/**
 * An answer memory holds that one database read must confirm before it is sent (a diff: both
 * sets still exist in the project). The lane sends `response` when `confirm` resolves true;
 * otherwise (false, or a rejection) it runs the route's handlers, which decide the request the
 * way they decide every other.
 */
export interface CheckedAnswer {
  readonly response: FastResponse;
  confirm(): Promise<boolean>;
}

/** A direct route's answer when memory holds one to confirm, or undefined; arguments as FastAnswer's. */
export type CheckedFastAnswer = (params: Readonly<Record<string, string>>, req: IncomingMessage, query: string | undefined) => CheckedAnswer | undefined;
