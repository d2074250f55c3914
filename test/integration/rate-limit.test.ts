import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken, type CreatedToken } from "../support/tokens.js";

// A slow refill (1 per second) so a burst fired in a few milliseconds cannot earn a new token.
const BURST = 5;

describe.each(backends())("rate limits on $name", (backend) => {
  let t: TestApp;
  let a: CreatedToken;
  let b: CreatedToken;
  beforeAll(async () => {
    t = await startTestApp(backend, { rateLimit: { rps: 1, burst: BURST } });
    // The admin token has a bucket of its own: spend at most BURST of it here.
    expect((await t.request("PUT", "/v1/projects/alpha")).status).toBe(201);
    a = await createToken(t, { name: "a", scopes: ["read"], projects: ["alpha"] });
    b = await createToken(t, { name: "b", scopes: ["read"], projects: ["alpha"] });
  });
  afterAll(async () => t?.close());

  it("answers 429 problem+json with retry-after once a token's burst is spent, and never slows another token", async () => {
    const burst = await Promise.all(Array.from({ length: BURST + 5 }, () => t.request("GET", "/v1/projects", { token: a.token })));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(BURST + 1);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(4);
    for (const res of limited) {
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get("x-trace-id")).toBeTruthy();
      const problem = await res.json();
      expect(problem).toMatchObject({ status: 429, code: "rate_limited" });
    }

    // b's bucket is untouched by a's burst: its whole burst goes through.
    const other = await Promise.all(Array.from({ length: BURST }, () => t.request("GET", "/v1/projects", { token: b.token })));
    expect(other.map((r) => r.status)).toEqual(Array(BURST).fill(200));
  });

  it("lets a limited token through again after retry-after", async () => {
    let res = await t.request("GET", "/v1/projects", { token: a.token });
    expect(res.status).toBe(429);
    await new Promise((r) => setTimeout(r, Number(res.headers.get("retry-after")) * 1000 + 50));
    res = await t.request("GET", "/v1/projects", { token: a.token });
    expect(res.status).toBe(200);
  });

  it("limits requests without a valid token by client address, apart from the tokens' buckets", async () => {
    const anonymous = await Promise.all(
      Array.from({ length: BURST + 3 }, (_, i) => t.request("GET", "/v1/projects", { token: i % 2 === 0 ? null : "pst_guess" })),
    );
    const statuses = anonymous.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(BURST + 1);
    expect(statuses).toContain(429);
    // Guessing tokens from this address does not slow a valid token from the same address.
    const fresh = await createToken(t, { name: "fresh", scopes: ["read"], projects: ["alpha"] });
    expect((await t.request("GET", "/v1/projects", { token: fresh.token })).status).toBe(200);
  });

  it("does not limit the service endpoints (probes carry no token)", async () => {
    const probes = await Promise.all(Array.from({ length: BURST * 3 }, () => fetch(`${t.url}/healthz`)));
    expect(probes.every((r) => r.status === 200)).toBe(true);
  });
});
