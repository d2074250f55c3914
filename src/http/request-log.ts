import type { Request, Response } from "express";
import type { Level } from "pino";
import type { Logger } from "../logger.js";
import { stateOf } from "./context.js";

/**
 * The level of a request's line: 5xx `error`, 4xx `warn`, else `info` — or `debug` when the
 * route marked the request quiet (the hottest read path: a resolve answered from memory; see
 * docs/security.md "What is logged").
 */
export function requestLevel(status: number, quiet: boolean | undefined): Level {
  if (status >= 500) return "error";
  if (status >= 400) return "warn";
  return quiet ? "debug" : "info";
}

export interface RequestLine {
  traceId: string;
  method: string;
  url: string;
  remoteAddress: string | undefined;
  status: number;
  ms: number;
  /** False: the client went away before the response was finished. */
  finished: boolean;
}

/**
 * Writes the line of a finished (or aborted) request: trace id, method, path and query, client
 * address, status and response time. Headers and bodies are never logged (the Authorization
 * header must not reach a log). The caller checks that `level` is enabled first.
 */
export function writeRequestLine(logger: Logger, level: Level, line: RequestLine): void {
  logger[level](
    {
      trace_id: line.traceId,
      req: { method: line.method, url: line.url, remote_address: line.remoteAddress },
      res: { status: line.status },
      responseTime: Math.round(line.ms),
    },
    !line.finished ? "request aborted" : line.status >= 500 ? "request errored" : "request completed",
  );
}

/** The line of a request express answered. Nothing is built for a line whose level is off. */
export function requestLogger(logger: Logger): (req: Request, res: Response, ms: number) => void {
  return (req, res, ms) => {
    const state = stateOf(res);
    const finished = res.writableFinished;
    const status = res.statusCode;
    const level = finished ? requestLevel(status, state.quiet) : "info";
    if (!logger.isLevelEnabled(level)) return;
    writeRequestLine(logger, level, {
      traceId: state.traceId,
      method: req.method,
      url: req.originalUrl ?? req.url,
      remoteAddress: req.socket.remoteAddress,
      status,
      ms,
      finished,
    });
  };
}
