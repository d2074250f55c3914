import type { Request, Response } from "express";
import type { Level } from "pino";
import type { Logger } from "../logger.js";
import { stateOf } from "./context.js";

/**
 * The status logged and counted for a request whose client went away before its answer was
 * sent (mid-body, or while the server worked on it): nginx's 499. Not an error of the server,
 * so it never counts as a 5xx, whatever the aborted request's handler ran into.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** The status a request ended with: the one sent, or 499 when the client left before the head. */
export function statusOf(res: Response): number {
  return res.writableFinished || res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
}

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

/**
 * The logger request lines are written with: the root's, without its redaction. A request line
 * holds only the fields writeRequestLine builds (trace id, method, url, address, status, time),
 * never a header or a body, so none of the root's redact paths (`*.token`, `*.authorization`,
 * …) can match in it — yet redacting walks and copies every line, one per request.
 */
export function requestLineLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}

/**
 * The line of a request express answered. Nothing is built for a line whose level is off. A
 * request the client abandoned is logged at `info` ("request aborted"): clients go away all the
 * time (restarts, their own time-outs), and no anonymous client may trigger error-level lines.
 */
export function requestLogger(root: Logger): (req: Request, res: Response, status: number, ms: number) => void {
  const logger = requestLineLogger(root);
  return (req, res, status, ms) => {
    const state = stateOf(res);
    const finished = res.writableFinished;
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
