import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/core/principal.js";
import { createMetrics } from "../../src/http/metrics.js";
import { serviceRouter, type ReadinessCheck } from "../../src/http/service-routes.js";

const principal = (name: string, scopes: Principal["scopes"]): Principal => ({ tokenId: name, name, scopes, projects: "*" });

/** Memory fake of the token resolver: "admin" is cached, "reader" needs a lookup, "slow" never answers. */
const tokens = {
  peek: (secret: string) => (secret === "admin" ? principal("admin", new Set(["admin"])) : undefined),
  resolve: (secret: string): Promise<Principal | null> =>
    secret === "reader" ? Promise.resolve(principal("reader", new Set(["read"]))) : secret === "slow" ? new Promise<never>(() => {}) : Promise.resolve(null),
};

describe("/readyz", () => {
  let server: Server;
  let url: string;
  let blobStoreDown = false;

  beforeAll(async () => {
    const readiness: ReadinessCheck[] = [
      // A dependency that never answers: the probe must not wait for it.
      { name: "database", check: () => new Promise<void>(() => {}) },
      {
        name: "blob_store",
        check: async () => {
          if (blobStoreDown) throw new Error("connect ECONNREFUSED 10.0.0.5:9000");
        },
      },
    ];
    const app = express().use(serviceRouter({ metrics: createMetrics({ defaultMetrics: false }), readiness, tokens, readyzTimeoutMs: 200 }));
    server = createServer(app).listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const probe = async (token?: string) => {
    const started = performance.now();
    const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: performance.now() - started, cache: res.headers.get("cache-control") };
  };

  it("names only the failed checks without a token, with a non-admin, unknown or slow token", async () => {
    blobStoreDown = true;
    for (const token of [undefined, "reader", "nobody", "slow"]) {
      const r = await probe(token);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ status: "unavailable", failed: ["database", "blob_store"] });
      expect(JSON.stringify(r.body)).not.toContain("10.0.0.5");
      expect(r.ms).toBeLessThan(1_000);
      expect(r.cache).toBe("no-store");
    }
  });

  it("adds every check's result and reason for an admin token", async () => {
    blobStoreDown = true;
    const r = await probe("admin");
    expect(r.status).toBe(503);
    expect(r.body.failed).toEqual(["database", "blob_store"]);
    expect(r.body.checks).toEqual([
      { name: "database", ok: false, ms: expect.any(Number), error: "no answer within 200 ms" },
      { name: "blob_store", ok: false, ms: expect.any(Number), error: "connect ECONNREFUSED 10.0.0.5:9000" },
    ]);
  });
});
