import type { IncomingMessage, ServerResponse } from "node:http";
import { pinoHttp } from "pino-http";
import type { Logger } from "../logger.js";

/**
 * One line per finished request with the trace id. Headers are never serialized: the
 * Authorization header must not reach a log.
 */
export function requestLogMiddleware(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (_req: IncomingMessage, res: ServerResponse) => (res as unknown as { locals: { traceId: string } }).locals.traceId,
    customProps: (_req: IncomingMessage, res: ServerResponse) => ({
      trace_id: (res as unknown as { locals: { traceId: string } }).locals.traceId,
    }),
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info"),
    serializers: {
      req: (req: { method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remote_address: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    // The error handler logs errors once, with their cause; pino-http need not repeat them.
    customAttributeKeys: { err: "request_error" },
    wrapSerializers: false,
  });
}
