import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { AppError, BadRequestError, NotFoundError, PayloadTooLargeError, UnavailableError } from "../core/errors.js";
import { isDatabaseTimeout, isDatabaseUnavailable } from "../db/errors.js";
import { stateOf } from "./context.js";

function send(res: Response, err: AppError): void {
  const traceId = stateOf(res).traceId;
  for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
  res
    .status(err.status)
    .type("application/problem+json")
    .send(
      JSON.stringify({
        type: `urn:pinset:problem:${err.code}`,
        title: err.title,
        status: err.status,
        detail: err.message,
        code: err.code,
        trace_id: traceId,
        ...(err.errors ? { errors: err.errors } : {}),
      }),
    );
}

/** body-parser and friends signal with `type`/`status`; turn those into our codes. */
function fromHttpError(err: { type?: string; status?: number; message?: string; limit?: number }): AppError | undefined {
  switch (err.type) {
    case "entity.parse.failed":
      return new BadRequestError(`The body is not valid JSON: ${err.message ?? "parse error"}`, undefined, "malformed_json");
    case "entity.too.large":
      return new PayloadTooLargeError(`The JSON body exceeds the limit of ${err.limit} bytes`);
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError({ code: "unsupported_media_type", status: 415, title: "Unsupported media type", detail: err.message ?? "unsupported encoding" });
    case "request.aborted":
    case "request.size.invalid":
    case "stream.encoding.set":
      return new BadRequestError(err.message ?? "The request body could not be read");
  }
  if (typeof err.status === "number" && err.status >= 400 && err.status < 500) {
    return new BadRequestError(err.message ?? "Bad request");
  }
  return undefined;
}

export const notFoundHandler: RequestHandler = (req) => {
  throw new NotFoundError(`No route for ${req.method} ${req.path}`);
};

/**
 * The one place errors become responses (problem+json, never a stack trace) and the one place
 * they are logged. Unexpected errors are 500 with only the trace id to go on.
 */
export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  // The client went away (mid-body, or while the server worked): whatever failed because of
  // that (a read of the aborted body, a store write cut short) is not the server's error, and
  // there is no one to answer. The request line reports it as 499 (request-log.ts).
  if (req.socket?.destroyed !== false) {
    res.destroy();
    return;
  }
  const log = stateOf(res).log;
  let problem: AppError;
  if (err instanceof AppError) {
    problem = err;
  } else if (isDatabaseTimeout(err)) {
    // Our budget's message says what became of the write (nothing, or unknown at a commit); the server's 57014 cancelled the statement.
    const e = err as { code?: unknown; outcome?: unknown; message?: unknown };
    const detail =
      e.code === "57014" ? "The database cancelled a statement that ran past its time budget; nothing was written; retry shortly"
      : e.outcome === "unknown" ? String(e.message)
      : `${String(e.message)}; retry shortly`;
    problem = new UnavailableError(detail, err, { code: "database_timeout", retryAfterSeconds: 1 });
    log?.warn({ err }, "database time budget exceeded");
  } else if (isDatabaseUnavailable(err)) {
    problem = new UnavailableError("The database is unavailable; retry shortly", err, { retryAfterSeconds: 1 });
    log?.warn({ err }, "database unavailable");
  } else {
    problem = fromHttpError(err ?? {}) ?? new AppError({ code: "internal", status: 500, title: "Internal error", detail: "An unexpected error occurred; report the trace id" });
    if (problem.status >= 500) log?.error({ err }, "unhandled error");
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, problem);
};
