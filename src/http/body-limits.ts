import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { HTTP_DEFAULTS } from "../config.js";
import { PayloadTooLargeError, RequestTimeoutError } from "../core/errors.js";
import { utf8JsonMayHoldUnstorable, vouchStorable } from "./storable-text.js";

/**
 * What a route reads from its body, declared next to its scope (routes.ts). Bodies are read only
 * after the request is authenticated and authorised (mountRoutes puts this reader behind both),
 * and each kind has its own limit:
 * - `small` (the default): a JSON document of a route whose largest valid body is small
 *   (deploy, rollback, observations, tokens, webhooks, …): SMALL_JSON_BYTES.
 * - `json`: a JSON document that can be large (artifacts, version sets, a rollout's allowlist):
 *   PINSET_MAX_JSON_BYTES.
 * - `stream`: bytes the route streams itself (blob PUT): PINSET_MAX_BLOB_BYTES.
 */
export type BodyKind = "small" | "json" | "stream";

/**
 * The limit of a `small` route: its largest valid body with room to spare (the largest is a
 * token naming 1 000 projects and 1 000 environments of 128 characters, about 270 KB; an
 * observation with 1 000 sample trace ids is about 140 KB).
 */
export const SMALL_JSON_BYTES = 512 * 1024;

export interface BodyLimits {
  maxJsonBytes: number;
  maxBlobBytes: number;
  /** A body that sends no byte for this long is cut (408). */
  idleTimeoutMs?: number;
  /** A JSON body must arrive whole within this (408). Streams have no total limit. */
  jsonTimeoutMs?: number;
}

const JSON_TYPES = ["application/json", "application/*+json"];

export function bodyLimitOf(kind: BodyKind, limits: BodyLimits): number {
  if (kind === "stream") return limits.maxBlobBytes;
  return kind === "json" ? limits.maxJsonBytes : Math.min(SMALL_JSON_BYTES, limits.maxJsonBytes);
}

/** A body follows the headers: a non-zero content-length, or chunked framing. */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && Number(length) > 0;
}

const invited = new WeakSet<IncomingMessage>();
const streams = new WeakMap<IncomingMessage, AsyncIterable<Uint8Array>>();

/** The body of a `stream` route, read with the idle time-out (the request itself when it has none). */
export function streamedBody(req: IncomingMessage): AsyncIterable<Uint8Array> {
  return streams.get(req) ?? req;
}

/**
 * Sends `100 Continue` to a client that waits for it (createHttpServer does not send it at once):
 * called only when the body is about to be read, so a refused client never sends it.
 */
export function inviteBody(req: IncomingMessage, res: ServerResponse): void {
  const expect = req.headers.expect;
  if (expect === undefined || invited.has(req) || !/100-continue/i.test(expect)) return;
  invited.add(req);
  res.writeContinue();
}

/**
 * The route's body reader: a declared `content-length` over the route's limit is refused (413)
 * before a byte is read; a JSON body is parsed (a body that is not JSON is left unread: the
 * route's schema then refuses the missing body); a stream is left to the route, which reads it
 * through `streamedBody` (with the idle time-out).
 */
export function bodyReader(kind: BodyKind, limits: BodyLimits): RequestHandler {
  const limit = bodyLimitOf(kind, limits);
  const idleMs = limits.idleTimeoutMs ?? HTTP_DEFAULTS.bodyIdleTimeoutMs;
  const totalMs = limits.jsonTimeoutMs ?? HTTP_DEFAULTS.jsonBodyTimeoutMs;
  const parse = kind === "stream" ? undefined : express.json({ limit, strict: true, type: JSON_TYPES, verify: clearStorable });
  return (req, res, next) => {
    if (!hasBody(req)) return next();
    const declared = Number(req.headers["content-length"]);
    if (declared > limit) throw new PayloadTooLargeError(`The body is ${declared} bytes; the limit for this route is ${limit} bytes`);
    if (!parse) {
      streams.set(req, readWithIdleTimeout(req, idleMs));
      inviteBody(req, res);
      return next();
    }
    if (!req.is(JSON_TYPES)) return next();
    inviteBody(req, res);
    guardedParse(req, res, (err?: unknown) => {
      if (err === undefined && cleared.has(req) && typeof req.body === "object" && req.body !== null) vouchStorable(req.body as object);
      next(err);
    }, parse, { limit, idleMs, totalMs });
  };
}

/** Requests whose raw JSON text could not hold unstorable text: their parsed body is vouched for. */
const cleared = new WeakSet<IncomingMessage>();

/** body-parser's look at the raw bytes before it decodes them (only UTF-8 is scanned). */
function clearStorable(req: IncomingMessage, _res: ServerResponse, raw: Buffer, encoding: string): void {
  if ((encoding === "utf-8" || encoding === "utf8") && !utf8JsonMayHoldUnstorable(raw)) cleared.add(req);
}

/**
 * body-parser reads a body whole, but only refuses it once the client has finished sending
 * (it reads off the rest first) and has no time limit. Alongside it this counts the bytes and
 * watches the clock, and answers at once — 413 past the limit (a chunked body declares no
 * length), 408 when the body stalls or takes too long — whereupon the connection is closed
 * (createHttpServer's response ends a connection whose body was not received).
 */
function guardedParse(req: Request, res: Response, next: NextFunction, parse: RequestHandler, o: { limit: number; idleMs: number; totalMs: number }): void {
  let settled = false;
  let received = 0;
  const settle = (err?: unknown) => {
    if (settled) return;
    settled = true;
    clearTimeout(idle);
    clearTimeout(total);
    req.off("data", count);
    next(err);
  };
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received > o.limit) settle(new PayloadTooLargeError(`The body exceeds the limit of ${o.limit} bytes for this route`));
    else idle.refresh();
  };
  const idle = setTimeout(() => settle(new RequestTimeoutError(`No part of the body arrived for ${o.idleMs} ms`)), o.idleMs);
  const total = setTimeout(() => settle(new RequestTimeoutError(`The body did not arrive within ${o.totalMs} ms`)), o.totalMs);
  req.on("data", count);
  parse(req, res, settle);
}

/**
 * The request body for a route that streams it (blob PUT): an upload may take as long as it
 * needs while bytes keep coming, but one that sends nothing for `idleMs` while the server waits
 * for it fails with 408. Time the consumer spends writing a chunk does not count: a slow store
 * is not an idle client. The request is not destroyed, so the 408 can still be sent.
 */
export async function* readWithIdleTimeout(body: AsyncIterable<Uint8Array>, idleMs: number): AsyncGenerator<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  let stall: ((err: Error) => void) | undefined;
  const timer = setTimeout(() => stall?.(new RequestTimeoutError(`The upload sent no bytes for ${idleMs} ms; nothing was stored`)), idleMs);
  try {
    for (;;) {
      timer.refresh();
      const stalled = new Promise<never>((_, reject) => (stall = reject));
      const next = await Promise.race([chunks.next(), stalled]);
      stall = undefined;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
  }
}
