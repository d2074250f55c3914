import type { RequestHandler } from "express";
import type { Logger } from "../logger.js";
import { requestMetrics, type RequestRecorder } from "./metrics.js";
import { CLIENT_CLOSED_REQUEST, requestLogger, statusOf } from "./request-log.js";
import { acceptedTraceId, RequestLocals, type TraceIds } from "./trace-id.js";

/**
 * The first middleware of every request express answers: its trace id (the client's when safe,
 * else a new one; echoed in `x-trace-id`), its state in `res.locals`, and one `close` listener
 * reporting the request when it ends — its metrics (when the response finished) and its log
 * line. One layer and one listener rather than one per concern: this runs on every request.
 */
export function requestContext(deps: { logger: Logger; recorder: RequestRecorder; traceIds: TraceIds }): RequestHandler {
  const record = requestMetrics(deps.recorder);
  const logLine = requestLogger(deps.logger);
  return (req, res, next) => {
    const started = performance.now();
    const traceId = acceptedTraceId(req) ?? deps.traceIds();
    res.locals = new RequestLocals(traceId, deps.logger);
    res.setHeader("x-trace-id", traceId);
    res.on("close", () => {
      const ms = performance.now() - started;
      const status = statusOf(res);
      // A stream the client closed after its head was sent (a watch) is not a request count.
      if (res.writableFinished || status === CLIENT_CLOSED_REQUEST) record(req, res, status, ms / 1000);
      logLine(req, res, status, ms);
    });
    next();
  };
}
