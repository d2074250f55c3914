import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import express from "express";
import { describe, expect, it } from "vitest";
import { HTTP_DEFAULTS } from "../../src/config.js";
import { RequestTimeoutError } from "../../src/core/errors.js";
import { sendJson } from "../../src/http/json-response.js";
import { bodyLimitOf, readWithIdleTimeout, SMALL_JSON_BYTES } from "../../src/http/body-limits.js";
import { adoptExpressPrototypes, createHttpServer } from "../../src/http/server.js";

describe("createHttpServer", () => {
  it("keeps idle connections 65 s (above load balancers' 60 s), headers above that, and no total request time-out", () => {
    const server = createHttpServer(() => {});
    expect(server.keepAliveTimeout).toBe(65_000);
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    // Node's 300 s default cut slow blob uploads; bodies have their own time-outs instead.
    expect(server.requestTimeout).toBe(0);
    expect(server.listenerCount("checkContinue")).toBe(1);
    expect(server.listenerCount("clientError")).toBe(1);
    const tuned = createHttpServer(() => {}, { keepAliveTimeoutMs: 120_000 });
    expect(tuned.keepAliveTimeout).toBe(120_000);
    expect(tuned.headersTimeout).toBeGreaterThan(120_000);
  });
});

describe("adoptExpressPrototypes", () => {
  it("builds requests and responses with the app's prototypes, so express has nothing to change; routes work as before", async () => {
    const app = express();
    app.response.json = sendJson as typeof app.response.json;
    const seen: boolean[] = [];
    app.get("/q", (req, res) => void res.status(201).json({ q: req.query.q, protocol: req.protocol }));
    const server = createHttpServer((req, res) => {
      seen.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
      app(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/q?q=x`;
    try {
      const before = await fetch(url);
      expect([before.status, await before.json()]).toEqual([201, { q: "x", protocol: "http" }]);
      adoptExpressPrototypes(server, app);
      const after = await fetch(url);
      expect([after.status, await after.json()]).toEqual([201, { q: "x", protocol: "http" }]);
      expect(seen).toEqual([false, true]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("refuses prototypes that are not node's request and response", () => {
    expect(() => adoptExpressPrototypes(createHttpServer(() => {}), { request: {}, response: {} })).toThrow(/must extend/);
  });
});

describe("body limits", () => {
  it("gives each kind of route its limit", () => {
    const limits = { maxJsonBytes: 10 * 2 ** 20, maxBlobBytes: 5 * 2 ** 30 };
    expect(bodyLimitOf("small", limits)).toBe(SMALL_JSON_BYTES);
    expect(bodyLimitOf("json", limits)).toBe(10 * 2 ** 20);
    expect(bodyLimitOf("stream", limits)).toBe(5 * 2 ** 30);
    // A JSON maximum set below the small limit lowers it too.
    expect(bodyLimitOf("small", { ...limits, maxJsonBytes: 1000 })).toBe(1000);
    expect(HTTP_DEFAULTS.bodyIdleTimeoutMs).toBe(60_000);
  });
});

async function collect(body: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += chunk.byteLength;
  return bytes;
}

describe("readWithIdleTimeout", () => {
  it("lets a slow but steady body take as long as it needs", async () => {
    async function* steady() {
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 60));
        yield new Uint8Array(10);
      }
    }
    // 12 × 60 ms = 720 ms in all, well over the 400 ms idle time-out, never idle for 400 ms.
    expect(await collect(readWithIdleTimeout(steady(), 400))).toBe(120);
  });

  it("fails with 408 when no bytes come for the idle time-out, without destroying the source", async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(5));
    const started = Date.now();
    const error = await collect(readWithIdleTimeout(source, 100)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ status: 408, code: "request_timeout" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    // The request stays usable for the 408 answer.
    expect(source.destroyed).toBe(false);
    source.destroy();
  });

  it("does not count the time the consumer spends on a chunk (a slow store is not an idle client)", async () => {
    async function* quick() {
      yield new Uint8Array(1);
      yield new Uint8Array(1);
    }
    let bytes = 0;
    for await (const chunk of readWithIdleTimeout(quick(), 50)) {
      bytes += chunk.byteLength;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(bytes).toBe(2);
  });
});
