import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { TokenLookup } from "./token-lookup.js";
import type { Logger } from "../logger.js";
import { bearerSecret, refusal } from "./auth.js";
import type { FastAnswer, FastResponse } from "./fast-answer.js";
import type { RequestRecorder } from "./metrics.js";
import type { RateLimit } from "./rate-limit.js";
import { requestLevel, RequestLines } from "./request-log.js";
import type { RouteSpec } from "./routes.js";
import { acceptedTraceId, type TraceIds } from "./trace-id.js";

interface LaneRoute {
  pattern: RegExp;
  paramNames: string[];
  spec: RouteSpec & { fast: FastAnswer };
  recordOk: (seconds: number) => void;
  recordNotModified: (seconds: number) => void;
}

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
}

/**
 * The node request listener in front of express for the routes that declare a `fast` answer
 * (resolve). It answers only a request the router would answer with exactly that response:
 * a GET without a body, a query string the route reads itself (or none), a token the token
 * cache already holds, a caller who may see the project and environment and holds the scope,
 * a rate limit that admits it, and an answer in memory. Anything else — a refusal, a miss,
 * HEAD, an encoded name, a query the route does not read, a token to look up —
 * goes to the express app untouched, which decides it the way it decides every request. So the
 * lane changes how fast the common answer is sent, never what is answered.
 *
 * Skipping express is the point: its per-request work (prototype swaps, the router's layer
 * walk, res.locals, a close listener) cost as much as the rest of a hot resolve together
 * (docs/performance.md). What a request gets from express it still gets here: the trace id
 * (`x-trace-id`), the `/metrics` count and duration under the route template, and its request
 * line — at `debug`, like every resolve answered from memory.
 */
export function fastLane(deps: FastLaneDeps, router: RequestListener): RequestListener {
  const routes: LaneRoute[] = [];
  for (const spec of deps.specs) {
    if (!spec.fast || spec.method !== "get") continue;
    const template = `${deps.prefix}${spec.path}`;
    routes.push({
      ...compile(template),
      spec: spec as LaneRoute["spec"],
      recordOk: deps.recorder.bound("GET", template, 200),
      recordNotModified: deps.recorder.bound("GET", template, 304),
    });
  }
  if (routes.length === 0) return router;
  const lines = new RequestLines(deps.logger);
  const debugLines = () => lines.enabled(requestLevel(200, true));

  const answer = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "GET" || req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) return false;
    const url = req.url ?? "";
    const mark = url.indexOf("?");
    const path = mark === -1 ? url : url.slice(0, mark);
    const query = mark === -1 ? undefined : url.slice(mark + 1);
    // The router's URL parser (parseurl) reads such a URL another way (a fragment, spaces): its call.
    if (query !== undefined && UNUSUAL_QUERY.test(query)) return false;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      const started = performance.now();
      const secret = bearerSecret(req.headers.authorization);
      const principal = secret === undefined ? undefined : deps.tokens.peek(secret);
      if (!principal) return false;
      const params: Record<string, string> = {};
      for (let i = 0; i < route.paramNames.length; i++) params[route.paramNames[i]!] = match[i + 1]!;
      if (refusal(principal, params, route.spec.scope)) return false;
      const response = route.spec.fast(params, req, query);
      // Charged last: a request the router answers instead is charged there, once.
      if (!response || deps.rateLimit.take(principal) > 0) return false;
      const traceId = acceptedTraceId(req) ?? deps.traceIds();
      send(res, response, traceId);
      const ms = performance.now() - started;
      (response.status === 200 ? route.recordOk : route.recordNotModified)(ms / 1000);
      if (debugLines()) {
        lines.write("debug", { traceId, method: "GET", url, remoteAddress: req.socket.remoteAddress, status: response.status, ms, finished: true });
      }
      return true;
    }
    return false;
  };
  return (req, res) => {
    let answered = false;
    try {
      answered = answer(req, res);
    } catch (err) {
      // A bug, not a client's mistake: logged, and the router answers unless bytes went out.
      deps.logger.error({ err, req: { method: req.method, url: req.url } }, "fast lane failed");
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
