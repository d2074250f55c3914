import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Request, RequestHandler, Response } from "express";
import type { TokenLookup } from "./token-lookup.js";
import type { Logger } from "../logger.js";
import { bearerSecret, refusal } from "./auth.js";
import type { CheckedAnswer, FastAnswer, FastResponse } from "./fast-answer.js";
import type { RequestRecorder } from "./metrics.js";
import type { RateLimit } from "./rate-limit.js";
import { CLIENT_CLOSED_REQUEST, requestLevel, RequestLines } from "./request-log.js";
import { runHandlers } from "./handler-chain.js";
import type { RequestStart } from "./request-context.js";
import type { RouteSpec } from "./routes.js";
import { acceptedTraceId, type TraceIds } from "./trace-id.js";

/** A route that answers from memory: resolve. */
interface FastRoute {
  kind: "fast";
  pattern: RegExp;
  paramNames: string[];
  spec: RouteSpec & { fast: FastAnswer };
  recordOk: (seconds: number) => void;
  recordNotModified: (seconds: number) => void;
}

/** A read whose handlers the lane runs itself, without express' router. */
interface DirectRoute {
  kind: "direct";
  pattern: RegExp;
  paramNames: string[];
  spec: RouteSpec;
  template: string;
  handlers: readonly RequestHandler[];
}

/** Any other GET route: the router's, also when the lane matches it first. */
interface RouterRoute {
  kind: "router";
  pattern: RegExp;
}

type LaneRoute = FastRoute | DirectRoute | RouterRoute;

/**
 * The route's path as one regular expression over the raw URL's path (before `?`), with
 * express' defaults: case insensitive, an optional trailing slash. A parameter never contains
 * `%`: an encoded name is left to the router, which decodes it.
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
  return { pattern: new RegExp(`^${source}/?$`, "i"), paramNames };
}

/** Segments of a path (`/v1/a/b` → 3), one trailing slash ignored: a route matches only paths with as many as its template. */
function segmentCount(path: string): number {
  let count = 0;
  const end = path.length > 1 && path.endsWith("/") ? path.length - 1 : path.length;
  for (let i = 0; i < end; i++) if (path.charCodeAt(i) === 47) count++;
  return count;
}

/** Characters after which parseurl stops taking the fast path and splits the URL its own way. */
const UNUSUAL_QUERY = /[\t\n\f\r #\u00a0\ufeff]/;

export interface FastLaneDeps {
  /** Mounted under this prefix (`/v1`), like the router's copy of the routes. */
  prefix: string;
  specs: RouteSpec[];
  tokens: Pick<TokenLookup, "peek">;
  rateLimit: Pick<RateLimit, "take">;
  recorder: RequestRecorder;
  logger: Logger;
  traceIds: TraceIds;
  /** What running `direct` routes takes; required when a route declares one. */
  direct?: DirectDeps;
}

export interface DirectDeps {
  /** Starts a request as express' first middleware starts it (request-context.ts). */
  start: RequestStart;
  /** The app's error handler: a direct route's errors are answered as the router's are. */
  fail: (err: unknown, req: Request, res: Response) => void;
  /**
   * The express app's request and response prototypes. A direct route runs only on requests
   * built with them (adoptExpressPrototypes), for its handlers use express' methods.
   */
  prototypes: { request: object; response: object };
}

/**
 * The node request listener in front of express, for two kinds of GET route.
 *
 * Routes that declare a `fast` answer (resolve): the lane answers only a request the router
 * would answer with exactly that response — a GET without a body, a query string the route
 * reads itself (or none), a token the token cache already holds, a caller who may see the
 * project and environment and holds the scope, a rate limit that admits it, and an answer in
 * memory. It then writes the answer itself, with the trace id, the `/metrics` count and
 * duration under the route template, and its request line at `debug`, like every resolve
 * answered from memory.
 *
 * Routes that declare `direct` (reads that await the database): with the same checks passed —
 * a bodiless GET, a cached token that may call the route, a rate limit that admits it — the
 * lane starts the request as express' first middleware would and runs the route's own
 * handlers, their errors answered by the app's error handler. Same handlers, same start,
 * same error answers: only the router's layer walk and express' per-request set-up are skipped.
 * A direct route may also declare a `checked` answer (a diff kept in memory): then the lane
 * sends it, as the handlers would have, once the one read that confirms it says so, and runs
 * the handlers when it does not.
 *
 * Anything else — a refusal, a miss, HEAD, an encoded name, a query the route does not read, a
 * token to look up, a path an earlier route of the router matches — goes to the express app
 * untouched, which decides it the way it decides every request. So the lane changes how fast
 * the common answer is sent, never what is answered.
 *
 * Skipping express is the point: its per-request work (the router's layer walk over every
 * route, res.locals, the guard's layers) cost as much as the rest of a hot resolve together,
 * and about a quarter of what a diff cost beyond the same SQL from a bare server (docs/performance.md).
 */
export function fastLane(deps: FastLaneDeps, router: RequestListener): RequestListener {
  // Every GET route in the router's order, by segment count: the first whose pattern matches a
  // path is the one the router would run (its patterns match what these do and more: `%`).
  const bySegments = new Map<number, LaneRoute[]>();
  let answering = 0;
  for (const spec of deps.specs) {
    if (spec.method !== "get") continue;
    const template = `${deps.prefix}${spec.path}`;
    const compiled = compile(template);
    // Only the direct lane sends a checked answer: declared alone, it would never be sent.
    if (spec.checked && !spec.direct) throw new Error(`${template} declares a checked answer: it must be a direct route too`);
    let route: LaneRoute;
    if (spec.fast) {
      route = { kind: "fast", ...compiled, spec: spec as FastRoute["spec"], recordOk: deps.recorder.bound("GET", template, 200), recordNotModified: deps.recorder.bound("GET", template, 304) };
    } else if (spec.direct) {
      if (!deps.direct) throw new Error(`${template} is a direct route: the fast lane needs its direct dependencies`);
      route = { kind: "direct", ...compiled, spec, template, handlers: Array.isArray(spec.handler) ? spec.handler : [spec.handler] };
    } else {
      route = { kind: "router", pattern: compiled.pattern };
    }
    if (route.kind !== "router") answering++;
    const count = segmentCount(template);
    bySegments.set(count, [...(bySegments.get(count) ?? []), route]);
  }
  if (answering === 0) return router;
  const lines = new RequestLines(deps.logger);
  /** A bug in the lane or a route's answer, not a client's mistake. */
  const laneBug = (err: unknown, req: IncomingMessage) => deps.logger.error({ err, req: { method: req.method, url: req.url } }, "fast lane failed");
  const debugLines = () => lines.enabled(requestLevel(200, true));

  /** The route's parameters and caller when the lane may answer for it; undefined: the router's. */
  const admit = (route: FastRoute | DirectRoute, match: RegExpExecArray, req: IncomingMessage) => {
    const secret = bearerSecret(req.headers.authorization);
    const principal = secret === undefined ? undefined : deps.tokens.peek(secret);
    if (!principal) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < route.paramNames.length; i++) params[route.paramNames[i]!] = match[i + 1]!;
    if (refusal(principal, params, route.spec.scope)) return undefined;
    return { principal, params };
  };

  const answerFast = (route: FastRoute, match: RegExpExecArray, req: IncomingMessage, res: ServerResponse, url: string, query: string | undefined): boolean => {
    const started = performance.now();
    const admitted = admit(route, match, req);
    if (!admitted) return false;
    const response = route.spec.fast(admitted.params, req, query);
    // Charged last: a request the router answers instead is charged there, once.
    if (!response || deps.rateLimit.take(admitted.principal) > 0) return false;
    const traceId = acceptedTraceId(req) ?? deps.traceIds();
    send(res, response, traceId);
    const ms = performance.now() - started;
    (response.status === 200 ? route.recordOk : route.recordNotModified)(ms / 1000);
    if (debugLines()) {
      lines.write("debug", { traceId, method: "GET", url, remoteAddress: req.socket.remoteAddress, status: response.status, ms, finished: true });
    }
    return true;
  };

  const direct = deps.direct;
  type Admitted = NonNullable<ReturnType<typeof admit>>;
  const runDirect = (route: DirectRoute, admitted: Admitted, request: IncomingMessage, response: ServerResponse): void => {
    const req = request as Request;
    const res = response as Response;
    // What express' app.handle and router set before a route's handlers run.
    req.res = res;
    res.req = req;
    req.params = admitted.params;
    const state = direct!.start(req, res);
    state.principal = admitted.principal;
    state.route = route.template;
    runHandlers(route.handlers, req, res, (err) => direct!.fail(err, req, res));
  };

  /**
   * A checked answer: sent once its read confirms it, with the trace id, the route's count and
   * its request line (`info`, as the router logs a 200); otherwise the route's handlers decide
   * (the request already charged to the rate limit: once). A client gone meanwhile is counted
   * and logged as the router's requests are (499, "request aborted").
   */
  const sendChecked = (route: DirectRoute, admitted: Admitted, checked: CheckedAnswer, req: IncomingMessage, res: ServerResponse, url: string, started: number): void => {
    const failed = (err: unknown) => {
      // Nothing else would answer this request now.
      laneBug(err, req);
      res.destroy();
    };
    const fallBack = () => {
      try {
        runDirect(route, admitted, req, res);
      } catch (err) {
        failed(err);
      }
    };
    checked.confirm().then((confirmed) => {
      try {
        if (!confirmed) return fallBack();
        const traceId = acceptedTraceId(req) ?? deps.traceIds();
        const gone = res.destroyed;
        if (!gone) send(res, checked.response, traceId);
        const ms = performance.now() - started;
        const status = gone ? CLIENT_CLOSED_REQUEST : 200;
        // Recorded by name, not bound up front: a bound series shows in /metrics at 0 before its first request.
        deps.recorder.record("GET", route.template, status, ms / 1000);
        if (lines.enabled(requestLevel(status, false))) lines.write("info", { traceId, method: "GET", url, remoteAddress: req.socket.remoteAddress, status, ms, finished: !gone });
      } catch (err) {
        failed(err);
      }
    }, fallBack);
  };

  const answerDirect = (route: DirectRoute, match: RegExpExecArray, request: IncomingMessage, response: ServerResponse, url: string, query: string | undefined): boolean => {
    if (!direct || Object.getPrototypeOf(request) !== direct.prototypes.request || Object.getPrototypeOf(response) !== direct.prototypes.response) return false;
    const started = performance.now();
    const admitted = admit(route, match, request);
    if (!admitted || deps.rateLimit.take(admitted.principal) > 0) return false;
    const checked = route.spec.checked?.(admitted.params, request, query);
    if (checked) sendChecked(route, admitted, checked, request, response, url, started);
    else runDirect(route, admitted, request, response);
    return true;
  };

  const answer = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "GET" || req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) return false;
    const url = req.url ?? "";
    const mark = url.indexOf("?");
    const path = mark === -1 ? url : url.slice(0, mark);
    // An encoded path is the router's to decode (and to match: it may match a route here it would not).
    if (path.includes("%")) return false;
    const query = mark === -1 ? undefined : url.slice(mark + 1);
    // The router's URL parser (parseurl) reads such a URL another way (a fragment, spaces): its call.
    if (query !== undefined && UNUSUAL_QUERY.test(query)) return false;
    const candidates = bySegments.get(segmentCount(path));
    if (!candidates) return false;
    for (const route of candidates) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.kind === "fast") return answerFast(route, match, req, res, url, query);
      if (route.kind === "direct") return answerDirect(route, match, req, res, url, query);
      return false;
    }
    return false;
  };
  return (req, res) => {
    let answered = false;
    try {
      answered = answer(req, res);
    } catch (err) {
      // Logged, and the router answers unless bytes went out.
      laneBug(err, req);
      if (res.headersSent) {
        res.destroy();
        return;
      }
    }
    if (!answered) router(req, res);
  };
}

function send(res: ServerResponse, response: FastResponse, traceId: string): void {
  const head = response.headers.slice();
  head.push("x-trace-id", traceId);
  res.writeHead(response.status, head);
  res.end(response.body);
}
