import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpSend, type SendRequest } from "../../src/webhooks/send.js";
import { verifySignature } from "../../src/webhooks/signature.js";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A receiver on 127.0.0.1 whose behaviour depends on the path. */
let server: Server;
let base: string;
const received: Received[] = [];
const hanging = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      if (req.url === "/ok") res.writeHead(204).end();
      else if (req.url === "/redirect") res.writeHead(307, { location: "/elsewhere" }).end();
      else if (req.url === "/elsewhere") res.writeHead(200).end();
      else if (req.url === "/hang") hanging.add(res);
      else res.writeHead(500, { "content-type": "text/plain" }).end("x".repeat(100_000));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const request = (path: string): SendRequest => ({
  url: `${base}${path}`,
  deliveryId: "dlv_0123",
  event: "environment.changed",
  attempt: 3,
  body: '{"event":"environment.changed","project":"demo","at":"2025-01-01T00:00:00.000Z","data":{"é":1}}',
  secret: "send-test-secret-0123456789",
});
const never = new AbortController().signal;

describe("httpSend", () => {
  it("POSTs the body with the event, delivery id and a signature over the exact bytes", async () => {
    const result = await httpSend(request("/ok"), { timeoutMs: 5_000, signal: never });
    expect(result).toEqual({ ok: true, statusCode: 204, error: null, aborted: false });
    const got = received.find((r) => r.path === "/ok")!;
    expect(got.body).toBe(request("/ok").body);
    expect(got.headers).toMatchObject({
      "content-type": "application/json",
      "x-pinset-event": "environment.changed",
      "x-pinset-delivery": "dlv_0123",
      "x-pinset-attempt": "3",
    });
    expect(got.headers.authorization).toBeUndefined();
    expect(verifySignature("send-test-secret-0123456789", got.body, got.headers["x-pinset-signature"] as string)).toBe(true);
  });

  it("reports a non-2xx answer with its status and without the response body", async () => {
    const result = await httpSend(request("/fail"), { timeoutMs: 5_000, signal: never });
    expect(result).toEqual({ ok: false, statusCode: 500, error: "HTTP 500", aborted: false });
  });

  it("never follows a redirect", async () => {
    const before = received.filter((r) => r.path === "/elsewhere").length;
    const result = await httpSend(request("/redirect"), { timeoutMs: 5_000, signal: never });
    expect(result).toMatchObject({ ok: false, statusCode: 307, error: "HTTP 307 (redirects are not followed)" });
    expect(received.filter((r) => r.path === "/elsewhere")).toHaveLength(before);
  });

  it("gives up after the time-out", async () => {
    const started = Date.now();
    const result = await httpSend(request("/hang"), { timeoutMs: 200, signal: never });
    expect(result).toEqual({ ok: false, statusCode: null, error: "timed out after 200 ms", aborted: false });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("names a refused connection without the URL", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const result = await httpSend({ ...request(""), url: `http://127.0.0.1:${port}/hook?token=abc` }, { timeoutMs: 2_000, signal: never });
    expect(result).toEqual({ ok: false, statusCode: null, error: "connection failed: ECONNREFUSED", aborted: false });
  });

  it("says when the registry itself cut the send short", async () => {
    const stop = new AbortController();
    const pending = httpSend(request("/hang"), { timeoutMs: 5_000, signal: stop.signal });
    setTimeout(() => stop.abort(), 50);
    expect(await pending).toMatchObject({ ok: false, statusCode: null, aborted: true });
  });
});
