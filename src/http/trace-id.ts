import { randomBytes } from "node:crypto";
import type { RequestHandler } from "express";
import type { Logger } from "../logger.js";
import type { RequestState } from "./context.js";

/** A client's trace id is kept only when it is safe to echo in a header and a log line. */
const CLIENT_TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function traceIdMiddleware(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers["x-trace-id"];
    const traceId = typeof given === "string" && CLIENT_TRACE_ID.test(given) ? given : randomBytes(16).toString("hex");
    const state = res.locals as RequestState;
    state.traceId = traceId;
    state.log = logger.child({ trace_id: traceId });
    res.setHeader("x-trace-id", traceId);
    next();
  };
}
