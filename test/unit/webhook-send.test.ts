import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpSender, type Resolver, type SendRequest } from "../../src/webhooks/send.js";
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
/** The existing receiver is on 127.0.0.1: these cases run as with PINSET_WEBHOOK_ALLOW_PRIVATE=true. */
const httpSend = httpSender({ allowPrivate: true });

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

describe("httpSender with private targets refused (the default)", () => {
  const strict = httpSender({ allowPrivate: false });
  const receivedNow = () => received.length;

  it("refuses literal loopback, private, link-local and unique-local hosts in any spelling, before connecting", async () => {
    const port = new URL(base).port;
    const before = receivedNow();
    const cases: Array<[string, RegExp]> = [
      [`http://127.0.0.1:${port}/ok`, /127\.0\.0\.1, a loopback address/],
      [`http://2130706433:${port}/ok`, /127\.0\.0\.1, a loopback address/],
      [`http://0x7f.1:${port}/ok`, /127\.0\.0\.1, a loopback address/],
      [`http://017700000001:${port}/ok`, /127\.0\.0\.1, a loopback address/],
      [`http://[::ffff:127.0.0.1]:${port}/ok`, /::ffff:7f00:1, a loopback address/],
      [`http://[::1]:${port}/ok`, /::1, a loopback address/],
      [`http://localhost:${port}/ok`, /is localhost/],
      [`http://api.localhost:${port}/ok`, /is localhost/],
      ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254, a link-local address/],
      ["http://10.0.0.8/hook", /10\.0\.0\.8, a private address/],
      ["http://192.168.1.1/hook", /a private address/],
      ["http://172.31.255.255/hook", /a private address/],
      ["http://0.0.0.0/hook", /unspecified/],
      ["http://[fd00::1]/hook", /a unique-local address/],
      ["http://[fe80::1]/hook", /a link-local address/],
      ["http://[64:ff9b::a00:1]/hook", /a private address/],
      ["http://[2002:a9fe:a9fe::1]/hook", /169\.254\.169\.254|a link-local address/],
    ];
    for (const [url, why] of cases) {
      const result = await strict({ ...request(""), url }, { timeoutMs: 2_000, signal: never });
      expect(result.ok, url).toBe(false);
      expect(result.statusCode).toBeNull();
      expect(result.error, url).toMatch(why);
      expect(result.error).toMatch(/^refused: the host .*PINSET_WEBHOOK_ALLOW_PRIVATE=true allows others\)$/);
    }
    expect(receivedNow()).toBe(before);
  });

  it("refuses a name whose DNS answer holds any non-public address, and connects only to the address it checked", async () => {
    const calls: string[] = [];
    let answer = [{ address: "93.184.216.34", family: 4 }, { address: "127.0.0.1", family: 4 }];
    const resolver: Resolver = (hostname, _options, callback) => {
      calls.push(hostname);
      setImmediate(() => callback(null, answer));
    };
    const guarded = httpSender({ allowPrivate: false, resolver });
    const port = new URL(base).port;
    const before = receivedNow();
    const mixed = await guarded({ ...request(""), url: `http://hooks.example.test:${port}/ok` }, { timeoutMs: 2_000, signal: never });
    expect(mixed.error).toBe("refused: the host resolves to 127.0.0.1, a loopback address; webhooks go to public addresses only (PINSET_WEBHOOK_ALLOW_PRIVATE=true allows others)");
    answer = [{ address: "fd12:3456::1", family: 6 }];
    expect((await guarded({ ...request(""), url: `http://hooks.example.test:${port}/ok` }, { timeoutMs: 2_000, signal: never })).error).toMatch(/fd12:3456::1, a unique-local address/);
    expect(receivedNow()).toBe(before);
    // A public answer is used as it is: the connection goes to that address (unreachable here),
    // never back to DNS, where a rebinding server would now answer 127.0.0.1.
    const rebinding: Resolver = (hostname, _options, callback) => {
      calls.push(hostname);
      // Public on the first answer, loopback on every later one.
      const address = calls.length === 1 ? "198.51.99.1" : "127.0.0.1";
      setImmediate(() => callback(null, [{ address, family: 4 }]));
    };
    calls.length = 0;
    const publicResult = await httpSender({ allowPrivate: false, resolver: rebinding })({ ...request(""), url: `http://hooks.example.test:${port}/ok` }, { timeoutMs: 300, signal: never });
    expect(publicResult.ok).toBe(false);
    expect(publicResult.error).not.toMatch(/refused/);
    expect(calls).toEqual(["hooks.example.test"]);
    expect(receivedNow()).toBe(before);
  });
});
