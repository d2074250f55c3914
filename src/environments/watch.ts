import type { Socket } from "node:net";
import type { Request, Response } from "express";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import { expiryOf } from "../auth/token-resolver.js";
import { principalOf } from "../http/context.js";
import type { RouteSpec } from "../http/routes.js";
import { nameSchema } from "../core/names.js";
import { parseInput } from "../http/validate.js";
import type { WatchHub } from "./watch-hub.js";
import type { WatchSink } from "./watch-topic.js";
import type { WatchStreams } from "./watch-streams.js";

const envParams = z.object({ project: nameSchema, env: nameSchema });
const eventId = z.string().regex(/^\d{1,15}$/, "must be a revision (a non-negative integer)").transform(Number);
const watchQuery = z.object({ last_event_id: eventId.optional() });
const lastEventIdHeader = z.object({ "last-event-id": eventId.optional() });

/** `Last-Event-ID` (EventSource sends it on reconnect), or `?last_event_id=` for clients that cannot set headers. */
function lastEventIdOf(req: Request): number | undefined {
  const query = parseInput(watchQuery, req.query, "query");
  const headers = parseInput(lastEventIdHeader, { "last-event-id": req.headers["last-event-id"] }, "headers");
  return headers["last-event-id"] ?? query.last_event_id;
}

/**
 * The last frame written and its bytes as one HTTP/1.1 chunk (`<size hex>\r\n<frame>\r\n`).
 * The hub writes one frame to every watcher in a row (watch-hub.ts), so it is encoded once per
 * broadcast instead of once per watcher.
 */
let lastFrame = "";
let lastChunk = Buffer.alloc(0);

function chunkOf(frame: string): Buffer {
  if (frame !== lastFrame) {
    const bytes = Buffer.from(frame, "utf8");
    lastChunk = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`, "latin1"), bytes, CRLF]);
    lastFrame = frame;
  }
  return lastChunk;
}

const CRLF = Buffer.from("\r\n", "latin1");

/**
 * One watcher's stream. `buffered` reads the socket the response already owns when the stream
 * starts (it then writes straight into it, so the socket holds all that is unsent): express
 * responses rarely share a hidden class, so a property read on each in the hub's loop over
 * thousands of them is a slow megamorphic lookup (measured: 2 µs a watcher), while their
 * sockets share one. A response still queued behind another on its connection has no socket
 * yet and is measured as before.
 *
 * Frames go to that socket as ready chunks of the response's chunked body: one `write` of one
 * shared buffer per watcher. Through `res.write` each watcher cost a byte count and an encoding
 * of the frame, four socket writes and a cork released only after the hub's whole loop, so no
 * watcher got a byte before the last was queued (docs/performance.md, propagation). This holds
 * only while the response owns the socket, its head is out and its body is chunked; otherwise
 * (HTTP/1.0, a response queued behind another) frames go through `res.write`.
 */
class ResponseSink implements WatchSink {
  private readonly socket: Socket | null;
  private readonly direct: boolean;

  constructor(private readonly res: Response) {
    this.socket = res.socket;
    this.direct = this.socket !== null && res.headersSent && res.chunkedEncoding && res.writableLength === this.socket.writableLength;
  }

  write(chunk: string): void {
    if (!this.direct) this.res.write(chunk);
    // A socket the client already half-closed ends with the response's 'close' (then detached).
    else if (this.socket!.writable) this.socket!.write(chunkOf(chunk));
  }

  get buffered(): number {
    return this.socket ? this.socket.writableLength : this.res.writableLength;
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }
}

/**
 * GET …/environments/{env}/watch: Server-Sent Events (frames in sse.ts). The stream has no
 * request timeout and is never compressed or buffered by proxies (`no-transform`,
 * `x-accel-buffering: no`). While the database is down a new stream starts from the last state
 * this instance knew, with `x-pinset-stale: true` and `"stale": true` in its first event.
 * A stream takes a slot (watch-streams.ts) before anything else, or is refused with 429; it ends
 * when its token is revoked or expires.
 */
export function watchRoute(deps: { hub: WatchHub; streams: WatchStreams }): RouteSpec {
  return {
    method: "get",
    path: "/projects/:project/environments/:env/watch",
    scope: "read",
    async handler(req, res) {
      const { project, env } = parseInput(envParams, req.params, "params");
      const lastEventId = lastEventIdOf(req);
      const principal = principalOf(res);
      const expiresAt = expiryOf(principal);
      const slot = deps.streams.admit(
        { tokenId: principal.tokenId, address: req.socket.remoteAddress ?? "unknown", ...(expiresAt !== undefined ? { expiresAt } : {}) },
        // Revoked or expired: a stream ends cleanly (the client's reconnect then gets 401).
        () => (res.headersSent ? res.end() : res.destroy()),
      );
      let gone = false;
      res.once("close", () => {
        gone = true;
        slot.release();
      });
      const opened = await deps.hub.open({ project, environment: env }, lastEventId !== undefined ? { lastEventId } : {});
      if (gone) return;
      req.socket.setTimeout(0);
      req.socket.setNoDelay(true);
      res.status(200);
      res.setHeader("content-type", "text/event-stream; charset=utf-8");
      res.setHeader("cache-control", "no-cache, no-transform");
      res.setHeader("x-accel-buffering", "no");
      if (opened.stale) res.setHeader("x-pinset-stale", "true");
      // HEAD gets the headers only: a stream without a body would never end.
      if (req.method === "HEAD") {
        res.end();
        return;
      }
      res.flushHeaders();
      const detach = opened.attach(new ResponseSink(res));
      res.once("close", detach);
    },
  };
}

/** `pinset_watchers` (open streams) and `pinset_watchers_dropped_total` (too slow to keep up). */
export function registerWatchMetrics(registry: Registry, hub: WatchHub): void {
  new Gauge({
    name: "pinset_watchers",
    help: "Open watch (Server-Sent Events) streams on this instance",
    registers: [registry],
    collect() {
      this.set(hub.watcherCount());
    },
  });
  let reported = 0;
  new Counter({
    name: "pinset_watchers_dropped_total",
    help: "Watch streams closed because the client did not keep up",
    registers: [registry],
    collect() {
      const now = hub.droppedCount();
      this.inc(now - reported);
      reported = now;
    },
  });
}
