import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { HTTP_DEFAULTS } from "../config.js";
import type { Logger } from "../logger.js";
import { hasBody } from "./body-limits.js";
import { answerClientErrors } from "./client-error.js";

export interface HttpServerOptions {
  /** How long an idle keep-alive connection stays open (default 65 s). */
  keepAliveTimeoutMs?: number;
  logger?: Logger;
}

/**
 * The node HTTP server every registry process runs (main.ts) and every test serves its app
 * with, so the tests exercise the same time-outs:
 *
 * - `keepAliveTimeout` above load balancers' 60 s idle time-out: the balancer, not the registry,
 *   closes an idle connection, so it never reuses one the registry is closing at that moment.
 *   `headersTimeout` is above it (a connection waiting for its next request is not cut for
 *   "slow headers" before the keep-alive time-out).
 * - No total `requestTimeout`: Node's 300 s cut slow blob uploads. The body reader applies an
 *   idle time-out to every body and a total one to JSON bodies instead (body-limits.ts).
 * - `Expect: 100-continue` is not answered at once: the body reader invites the body only once
 *   the request is authenticated, authorised and within the route's size limit, so a refused
 *   client never sends it.
 * - An answer sent before the request's body has arrived (a 401, 413, 408, …) closes the
 *   connection (closeUnlessBodyArrived).
 */
export function createHttpServer(listener: RequestListener, options: HttpServerOptions = {}): Server {
  const server = createServer((req, res) => {
    if (hasBody(req)) closeUnlessBodyArrived(req, res);
    listener(req, res);
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs;
  server.headersTimeout = server.keepAliveTimeout + 1_000;
  server.requestTimeout = 0;
  server.on("checkContinue", (req, res) => server.emit("request", req, res));
  answerClientErrors(server, options.logger);
  return server;
}

/**
 * Stops accepting connections and resolves once every connection has closed. A keep-alive
 * connection stays open up to `keepAliveTimeout` (65 s) after its last answer, so idle ones are
 * closed now and each one that becomes idle after its request finishes is closed within 100 ms.
 * Streams that never end by themselves (watch) are the caller's to end.
 */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
  });
}

/** How long, and for how many bytes, a connection whose body was refused lingers before it is cut. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 4 * 1024 * 1024;

/**
 * Once an answer is out, a request whose body has not arrived whole (refused before it was read,
 * or answered without needing it) must not keep its connection: Node would otherwise read the
 * rest to reach the next request — however large it claims to be, and with no total time-out
 * now. So the connection is half-closed and what still arrives is discarded for a moment (at
 * most LINGER_MS and LINGER_BYTES) before it is cut: closing at once, with unread bytes queued,
 * sends a TCP reset that can make the client lose the very answer (401, 413, 408) it needs.
 */
function closeUnlessBodyArrived(req: IncomingMessage, res: ServerResponse): void {
  res.once("finish", () => {
    const socket = req.socket;
    if (req.complete || socket.destroyed) return;
    let discarded = 0;
    const cut = setTimeout(() => socket.destroy(), LINGER_MS);
    cut.unref();
    socket.once("close", () => clearTimeout(cut));
    // Node has already resumed the request to discard its body; this only counts it.
    req.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) socket.destroy();
    });
    socket.end();
  });
}
