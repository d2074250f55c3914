import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";

/** The HTTP server does not depend on the database: one backend is enough. */
const backend = backends()[0]!;

function get(url: string, agent: http.Agent): Promise<{ status: number; reused: boolean; keepAlive: string; port: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, keepAlive: String(res.headers["keep-alive"]), port: req.socket!.localPort! }));
    });
    req.on("error", reject);
  });
}

describe(`keep-alive on ${backend.name}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  it("keeps an idle connection open past Node's old 5 s default (65 s, above load balancers' 60 s)", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(`${t.url}/v1/projects`, agent);
      expect(first).toMatchObject({ status: 200, reused: false, keepAlive: "timeout=65" });
      // Idle for longer than Node's default keepAliveTimeout (5 s): the server used to close
      // the socket here, and a client reusing it at that moment got it closed under its request.
      await new Promise((r) => setTimeout(r, 6_000));
      const second = await get(`${t.url}/v1/projects`, agent);
      expect(second).toMatchObject({ status: 200, reused: true });
      expect(second.port).toBe(first.port);
    } finally {
      agent.destroy();
    }
  }, 20_000);
});
