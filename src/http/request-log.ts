import type { Request, Response } from "express";
import type { Level } from "pino";
import type { Logger } from "../logger.js";
import { stateOf } from "./context.js";

/**
 * The level of a request's line: 5xx `error`, 4xx `warn`, else `info` — or `debug` when the
 * route marked the request quiet (the hottest read path: a resolve answered from memory; see
 * docs/security.md "What is logged").
 */
function levelOf(status: number, quiet: boolean | undefined): Level {
  if (status >= 500) return "error";
  if (status >= 400) return "warn";
  return quiet ? "debug" : "info";
}

/**
 * The line of a finished (or aborted) request: trace id, method, path and query, client
 * address, status and response time. Headers and bodies are never logged (the Authorization
 * header must not reach a log). Nothing is built for a line whose level is off.
 */
export function requestLogger(logger: Logger): (req: Request, res: Response, ms: number) => void {
  return (req, res, ms) => {
    const state = stateOf(res);
    const finished = res.writableFinished;
    const status = res.statusCode;
    const level = finished ? levelOf(status, state.quiet) : "info";
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        trace_id: state.traceId,
        req: { method: req.method, url: req.originalUrl ?? req.url, remote_address: req.socket.remoteAddress },
        res: { status },
        responseTime: Math.round(ms),
      },
      !finished ? "request aborted" : status >= 500 ? "request errored" : "request completed",
    );
  };
}
