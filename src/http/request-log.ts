import type { Request, Response } from "express";
import { pino, type Level } from "pino";
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

type Message = "request completed" | "request errored" | "request aborted";

function messageOf(line: RequestLine): Message {
  return !line.finished ? "request aborted" : line.status >= 500 ? "request errored" : "request completed";
}

/** pino's internals a line is encoded with (pino.symbols: its documented hooks for integrations). */
interface PinoInternals {
  [key: symbol]: unknown;
}

/**
 * Writes request lines: trace id, method, path and query, client address, status and response
 * time. Headers and bodies are never logged (the Authorization header must not reach a log).
 *
 * The logger is the root's child without its redaction: a request line holds only those fields,
 * so none of the root's redact paths (`*.token`, `*.authorization`, …) can match in it — yet
 * redacting walks and copies every line, one per request.
 *
 * Every request writes one, so the line is encoded here, field by field, rather than by pino's
 * general serializer (which walks the nested objects with a safe stringifier: 24 µs of CPU per
 * request in the routes bench, docs/performance.md). It is the same line, byte for byte: pino's
 * own level prefix, time, bindings and line end are used, and the unit test compares both
 * encodings. Where pino would do more than encode — a mixin, hooks, a log formatter, a message
 * prefix or nesting key, serializers for these fields, a destination that reads each line's
 * metadata (multistream) — the line goes through pino instead.
 */
export class RequestLines {
  private readonly logger: Logger;
  /** Undefined: pino is configured to do more than encode, so lines go through it. */
  private readonly pino: { internals: PinoInternals; messageKey: string } | undefined;

  constructor(root: Logger) {
    this.logger = root.child({}, { redact: [] });
    this.pino = encodable(this.logger);
  }

  /** Whether lines are encoded here (else pino writes them): the unit test's check that the fast path is taken. */
  get encodes(): boolean {
    return this.pino !== undefined;
  }

  /** Whether a line at `level` would be written: check before building one. */
  enabled(level: Level): boolean {
    return this.logger.isLevelEnabled(level);
  }

  write(level: Level, line: RequestLine): void {
    const message = messageOf(line);
    if (!this.pino) {
      this.logger[level](
        {
          trace_id: line.traceId,
          req: { method: line.method, url: line.url, remote_address: line.remoteAddress },
          res: { status: line.status },
          responseTime: Math.round(line.ms),
        },
        message,
      );
      return;
    }
    const { internals: p, messageKey } = this.pino;
    const { lsCacheSym, timeSym, chindingsSym, endSym, streamSym } = pino.symbols;
    const levels = p[lsCacheSym] as Record<number, string>;
    const text =
      levels[this.logger.levels.values[level]!]! +
      (p[timeSym] as () => string)() +
      (p[chindingsSym] as string) +
      `,"trace_id":${JSON.stringify(line.traceId)}` +
      `,"req":{"method":${JSON.stringify(line.method)},"url":${JSON.stringify(line.url)}` +
      (line.remoteAddress === undefined ? "" : `,"remote_address":${JSON.stringify(line.remoteAddress)}`) +
      `},"res":{"status":${line.status}},"responseTime":${Math.round(line.ms)}` +
      `,${messageKey}:"${message}"` +
      (p[endSym] as string);
    (p[streamSym] as { write(text: string): unknown }).write(text);
  }
}

const LINE_FIELDS = ["trace_id", "req", "res", "responseTime"];

function encodable(logger: Logger): { internals: PinoInternals; messageKey: string } | undefined {
  const p = logger as unknown as PinoInternals;
  const s = pino.symbols;
  const hooks = p[s.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const formatters = p[s.formattersSym] as { log?: unknown } | undefined;
  const serializers = (p[s.serializersSym] ?? {}) as Record<string, unknown>;
  const stream = p[s.streamSym] as Record<symbol, unknown> | undefined;
  const messageKey = p[s.messageKeySym];
  // pino's typings leave msgPrefixSym out; it is among pino.symbols all the same.
  const msgPrefix = (s as unknown as Record<string, symbol | undefined>).msgPrefixSym;
  const plain =
    !p[s.mixinSym] &&
    !hooks?.logMethod &&
    !hooks?.streamWrite &&
    !formatters?.log &&
    msgPrefix !== undefined &&
    p[msgPrefix] === undefined &&
    !p[s.nestedKeySym] &&
    typeof messageKey === "string" &&
    ![...LINE_FIELDS, messageKey].some((key) => serializers[key]) &&
    stream !== undefined &&
    stream[s.needsMetadataGsym] !== true &&
    typeof p[s.lsCacheSym] === "object" &&
    typeof p[s.timeSym] === "function" &&
    typeof p[s.chindingsSym] === "string" &&
    typeof p[s.endSym] === "string";
  return plain ? { internals: p, messageKey: JSON.stringify(messageKey) } : undefined;
}

/**
 * The line of a request express answered. Nothing is built for a line whose level is off. A
 * request the client abandoned is logged at `info` ("request aborted"): clients go away all the
 * time (restarts, their own time-outs), and no anonymous client may trigger error-level lines.
 */
export function requestLogger(root: Logger): (req: Request, res: Response, status: number, ms: number) => void {
  const lines = new RequestLines(root);
  return (req, res, status, ms) => {
    const state = stateOf(res);
    const finished = res.writableFinished;
    const level = finished ? requestLevel(status, state.quiet) : "info";
    if (!lines.enabled(level)) return;
    lines.write(level, {
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
