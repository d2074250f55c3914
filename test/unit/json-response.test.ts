import type { AddressInfo } from "node:net";
import { request } from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonText, sendJson } from "../../src/http/json-response.js";
import { createHttpServer } from "../../src/http/server.js";

/** The answer as a client sees it, raw: status, headers and body bytes (HEAD included). */
function call(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; raw: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, raw: res.rawHeaders }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("sendJson (every route's res.json)", () => {
  const large = { items: Array.from({ length: 200 }, (_, i) => ({ i, text: "ünïcödé" })) };
  let server: ReturnType<typeof createHttpServer>;
  let port = 0;

  beforeAll(async () => {
    const app = express();
    app.set("etag", false);
    app.response.json = sendJson as typeof app.response.json;
    app.get("/small", (_req, res) => void res.json({ ok: true }));
    app.get("/large", (_req, res) => void res.status(201).json(large));
    app.get("/typed", (_req, res) => void res.type("application/vnd.pinset+json").json({ ok: 1 }));
    app.get("/validated", (_req, res) => void res.set("etag", '"v1"').json({ ok: 2 }));
    app.get("/empty", (_req, res) => void res.status(204).json({ ignored: true }));
    app.get("/undefined", (_req, res) => void res.json(undefined));
    app.get("/encoded", (_req, res) => void res.json(new JsonText('{"kept":{"10":1,"2":"ü"}}')));
    server = createHttpServer(app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("answers what express' res.json answered: charset, exact length in bytes, the route's status", async () => {
    const small = await call(port, "GET", "/small");
    expect(small.status).toBe(200);
    expect(small.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(small.body).toBe('{"ok":true}');
    expect(small.headers["content-length"]).toBe(String(Buffer.byteLength(small.body)));
    const big = await call(port, "GET", "/large");
    expect(big.status).toBe(201);
    expect(JSON.parse(big.body)).toEqual(large);
    // Non-ASCII text: the length counts bytes, not characters.
    expect(Number(big.headers["content-length"])).toBe(Buffer.byteLength(JSON.stringify(large)));
    expect(Number(big.headers["content-length"])).toBeGreaterThan(JSON.stringify(large).length);
  });

  it("keeps a content type the route set, adding the charset", async () => {
    const typed = await call(port, "GET", "/typed");
    expect(typed.headers["content-type"]).toBe("application/vnd.pinset+json; charset=utf-8");
  });

  it("sends no body for HEAD, 204 or an undefined value, and 304 for a fresh request to a validated answer", async () => {
    const head = await call(port, "HEAD", "/large");
    expect(head.body).toBe("");
    expect(Number(head.headers["content-length"])).toBe(Buffer.byteLength(JSON.stringify(large)));
    const empty = await call(port, "GET", "/empty");
    expect([empty.status, empty.body, empty.headers["content-type"]]).toEqual([204, "", undefined]);
    const none = await call(port, "GET", "/undefined");
    expect([none.status, none.body]).toEqual([200, ""]);
    const fresh = await call(port, "GET", "/validated", { "if-none-match": '"v1"' });
    expect([fresh.status, fresh.body]).toEqual([304, ""]);
    const stale = await call(port, "GET", "/validated", { "if-none-match": '"v0"' });
    expect([stale.status, stale.body]).toEqual([200, '{"ok":2}']);
  });

  it("sends text a service encoded already as it is, with the same headers", async () => {
    const encoded = await call(port, "GET", "/encoded");
    expect(encoded.status).toBe(200);
    expect(encoded.headers["content-type"]).toBe("application/json; charset=utf-8");
    // Not parsed and stringified again: the integer-like keys keep their order.
    expect(encoded.body).toBe('{"kept":{"10":1,"2":"ü"}}');
    expect(encoded.headers["content-length"]).toBe(String(Buffer.byteLength(encoded.body)));
  });
});
