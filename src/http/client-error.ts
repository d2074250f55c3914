import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../logger.js";

/** Node's parser error codes that have a more precise status than 400. */
const STATUS_BY_CODE: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request header fields too large"],
  HPE_URI_TOO_LONG: [414, "URI too long"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request timeout"],
};

/**
 * Requests Node's HTTP parser refuses (a CR or NUL inside a header, obsolete line folding, a
 * header block over the limit, …) never reach express, and Node answers them with a bare
 * `400 Bad Request`. This answers them like every other error instead: problem+json with a
 * generated trace id, which is also logged. Nothing of the request is echoed: it may be the
 * very header injection that was refused.
 */
export function answerClientErrors(server: Server, logger?: Logger): void {
  server.on("clientError", (err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    // The client went away (mid-body: the connection ended before the declared length): its
    // request, if one started, is logged as a client abort (499); there is no one to answer.
    if (err.code === "ECONNRESET" || err.code === "HPE_INVALID_EOF_STATE" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, title] = STATUS_BY_CODE[err.code ?? ""] ?? [400, "Bad request"];
    const traceId = randomBytes(16).toString("hex");
    logger?.warn({ trace_id: traceId, code: err.code, status }, "request refused by the HTTP parser");
    const body = JSON.stringify({
      type: "urn:pinset:problem:bad_request",
      title,
      status,
      detail: `The request is not valid HTTP/1.1 (${err.code ?? "parse error"}) and was not processed`,
      code: "bad_request",
      trace_id: traceId,
    });
    // An answer to HEAD has no body; the method is the one thing read from the raw packet.
    const head = err.rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\n` +
        "content-type: application/problem+json\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-trace-id: ${traceId}\r\n` +
        "connection: close\r\n\r\n" +
        (head ? "" : body),
    );
  });
}
