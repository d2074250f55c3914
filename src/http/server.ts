import { createServer, IncomingMessage, ServerResponse, type RequestListener, type Server } from "node:http";
import type { Socket } from "node:net";
import { HTTP_DEFAULTS } from "../config.js";
import type { Logger } from "../logger.js";
import { hasBody } from "./body-limits.js";
import { answerClientErrors } from "./client-error.js";

export interface HttpServerOptions {
  /** How long an idle keep-alive connection stays open (default 65 s). */
  keepAliveTimeoutMs?: number;
  logger?: Logger;
}

const ADOPT = Symbol("adopt the app's prototypes");

/**
 * The request and response classes of one server: node's own, with a prototype that
 * `adoptExpressPrototypes` can replace. Both are plain functions in node (not classes), so a
 * function calling them on `this` constructs the same object.
 */
function adoptableClasses(): { Request: typeof IncomingMessage; Response: typeof ServerResponse; adopt(request: object, response: object): void } {
  const Request = function PinsetRequest(this: IncomingMessage, socket: Socket) {
    (IncomingMessage as unknown as (this: IncomingMessage, socket: Socket) => void).call(this, socket);
  } as unknown as typeof IncomingMessage;
  const Response = function PinsetResponse(this: ServerResponse, req: IncomingMessage, options: unknown) {
    (ServerResponse as unknown as (this: ServerResponse, req: IncomingMessage, options: unknown) => void).call(this, req, options);
  } as unknown as typeof ServerResponse;
  Request.prototype = IncomingMessage.prototype;
  Response.prototype = ServerResponse.prototype;
  return {
    Request,
    Response,
    adopt(request, response) {
      Request.prototype = request as IncomingMessage;
      Response.prototype = response as ServerResponse;
    },
  };
}

/**
 * Makes the server build its requests and responses with the express app's prototypes
 * (`app.request`, `app.response`) from the start. Express sets them on every request it
 * handles with Object.setPrototypeOf, and V8 then treats both objects as of a new shape:
 * node's own HTTP code and every middleware reading them falls off its optimised paths. That
 * cost 70–90 µs of CPU per request here (a health check 108 → 37 µs, GET one artifact version
 * 261 → 169 µs; docs/performance.md). With the prototype already in place express' call
 * changes nothing. Requests that arrive before the app exists (start-up) keep node's.
 */
export function adoptExpressPrototypes(server: Server, app: { request: object; response: object }): void {
  if (!Object.prototype.isPrototypeOf.call(IncomingMessage.prototype, app.request) || !Object.prototype.isPrototypeOf.call(ServerResponse.prototype, app.response)) {
    throw new Error("the app's request and response prototypes must extend node's IncomingMessage and ServerResponse");
  }
  (server as Server & { [ADOPT]: (request: object, response: object) => void })[ADOPT](app.request, app.response);
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
  const classes = adoptableClasses();
  const server = createServer({ IncomingMessage: classes.Request, ServerResponse: classes.Response }, (req, res) => {
    if (hasBody(req)) closeUnlessBodyArrived(req, res);
    listener(req, res);
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? HTTP_DEFAULTS.keepAliveTimeoutMs;
  server.headersTimeout = server.keepAliveTimeout + 1_000;
  server.requestTimeout = 0;
  server.on("checkContinue", (req, res) => server.emit("request", req, res));
  answerClientErrors(server, options.logger);
  return Object.assign(server, { [ADOPT]: classes.adopt });
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
const LINGER_MS = 1_000;
const LINGER_BYTES = 1024 * 1024;

/**
 * An answer sent before the request's body has arrived whole (refused before it was read, or
 * answered without needing it) says `Connection: close`, and the connection ends after it:
 * otherwise Node would read the rest of the body to reach the next request — however large it
 * claims to be, with no total time-out now — and a client could not know the connection is done.
 *
 * Node ends such a connection with `socket.destroySoon()`, which closes it as soon as the answer
 * is written; with the client's unread bytes still queued, that sends a TCP reset that can make
 * the client lose the very answer (401, 413, 408) it needs. So this connection lingers instead:
 * half-closed, discarding what still arrives (never buffering it), until the client closes, for
 * at most LINGER_MS or about LINGER_BYTES.
 */
function closeUnlessBodyArrived(req: IncomingMessage, res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse["writeHead"]>) {
    if (!req.complete) {
      this.shouldKeepAlive = false;
      const socket = req.socket;
      socket.destroySoon = () => linger(req, socket);
    }
    return writeHead.apply(this, args);
  } as ServerResponse["writeHead"];
}

function linger(req: IncomingMessage, socket: Socket): void {
  // The HTTP parser reads the socket natively (no 'data' events, and a dumped request emits
  // none either), so what arrives is measured on the socket itself.
  const readBefore = socket.bytesRead;
  const check = setInterval(() => {
    if (socket.bytesRead - readBefore > LINGER_BYTES) socket.destroy();
  }, 10);
  const cut = setTimeout(() => socket.destroy(), LINGER_MS);
  check.unref();
  cut.unref();
  socket.once("close", () => {
    clearInterval(check);
    clearTimeout(cut);
  });
  // What still arrives is discarded (Node resumed the request to dump its body, unless a reader holds it).
  req.resume();
  socket.end();
}
