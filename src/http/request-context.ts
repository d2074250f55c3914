import type { RequestHandler, Request, Response } from "express";
import type { Logger } from "../logger.js";
import type { RequestState } from "./context.js";
import { requestMetrics, type RequestRecorder } from "./metrics.js";
import { CLIENT_CLOSED_REQUEST, requestLogger, statusOf } from "./request-log.js";
import { acceptedTraceId, RequestLocals, type TraceIds } from "./trace-id.js";

/** Starts a request's life: what every answered request gets, through express or the lane. */
export type RequestStart = (req: Request, res: Response) => RequestState;

/**
 * A request's trace id (the client's when safe, else a new one; echoed in `x-trace-id`), its
 * state in `res.locals`, and one `close` listener reporting the request when it ends — its
 * metrics (when the response finished) and its log line. One listener rather than one per
 * concern: this runs on every request. The express middleware (requestContext) and the fast
 * lane's direct routes (fast-lane.ts) both start requests with it, so both report alike.
 */
export function requestStart(deps: { logger: Logger; recorder: RequestRecorder; traceIds: TraceIds }): RequestStart {
  const record = requestMetrics(deps.recorder);
  const logLine = requestLogger(deps.logger);
  return (req, res) => {
    const started = performance.now();
    const traceId = acceptedTraceId(req) ?? deps.traceIds();
    const locals = new RequestLocals(traceId, deps.logger);
    res.locals = locals;
    res.setHeader("x-trace-id", traceId);
    res.on("close", () => {
      const ms = performance.now() - started;
      const status = statusOf(res);
      // A stream the client closed after its head was sent (a watch) is not a request count.
      if (res.writableFinished || status === CLIENT_CLOSED_REQUEST) record(req, res, status, ms / 1000);
      logLine(req, res, status, ms);
    });
    return locals;
  };
}

/** The first middleware of every request express answers: requestStart, then the router. */
export function requestContext(start: RequestStart): RequestHandler {
  return (req, res, next) => {
    start(req, res);
    next();
  };
}
