/**
 * From finding 9 of the hardening issue: webhooks are not a way into the registry's network.
 * With PINSET_WEBHOOK_ALLOW_PRIVATE off (the default), a literal non-public host is refused at
 * registration (422), a name that resolves to one is refused at delivery (nothing is sent), and
 * only admin tokens see why a delivery failed.
 */
import { lookup } from "node:dns/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exponentialBackoff } from "../../src/webhooks/backoff.js";
import { nonPublicAddress } from "../../src/webhooks/address-policy.js";
import { content } from "../support/builders.js";
import { tableCounts } from "../support/row-counts.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

const SECRET = "whsec-targets-0123456789abcdef";
const FAST = { schedule: exponentialBackoff({ baseMs: 100, maxAttempts: 2 }), pollIntervalMs: 40, timeoutMs: 2_000, leaseMs: 5_000 };

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** This machine's own name, when it resolves to a non-public address (it does on most hosts). */
async function localName(): Promise<string | undefined> {
  const name = os.hostname();
  const answer = await lookup(name).catch(() => undefined);
  return answer && nonPublicAddress(answer.address) ? name : undefined;
}

describe.each(backends())("webhook targets on $name", (backend) => {
  let t: TestApp;
  let receiver: Server;
  let port: number;
  let hits = 0;
  let name: string | undefined;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      hits++;
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, "0.0.0.0", () => r()));
    port = (receiver.address() as AddressInfo).port;
    name = await localName();
    t = await startTestApp(backend, { allowPrivateWebhooks: false, background: true, webhookDelivery: FAST });
    expect((await t.request("PUT", "/v1/projects/hooks")).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    receiver?.closeAllConnections();
    await new Promise<void>((r) => receiver?.close(() => r()));
  });

  it("refuses literal loopback, private, link-local, unique-local and unspecified hosts, in any spelling, with 422", async () => {
    const before = await tableCounts(t);
    const urls = [
      `http://127.0.0.1:${port}/hook`,
      `http://127.1.2.3/hook`,
      `http://2130706433:${port}/hook`,
      `http://0x7f.1:${port}/hook`,
      `http://0x7f000001/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      `http://[::ffff:7f00:1]/hook`,
      `http://[::1]:${port}/hook`,
      `http://localhost:${port}/hook`,
      "http://LOCALHOST./hook",
      "http://169.254.169.254/latest/meta-data/iam/",
      "http://[fe80::1]/hook",
      "http://10.1.2.3/hook",
      "http://172.16.0.1/hook",
      "http://192.168.0.10/hook",
      "http://100.64.0.1/hook",
      "http://[fc00::1]/hook",
      "http://[fdab:cdef::2]/hook",
      "http://0.0.0.0/hook",
      "http://0/hook",
      "http://[::]/hook",
      "https://[64:ff9b::c0a8:1]/hook",
    ];
    for (const url of urls) {
      const res = await t.request("POST", "/v1/projects/hooks/webhooks", { body: { url, events: ["artifact.published"], secret: SECRET } });
      expect(res.status, url).toBe(422);
      const problem = await res.json();
      expect(problem.errors, url).toEqual([{ path: "body.url", message: expect.stringMatching(/^host (is localhost|is (the IPv6 address )?\S+, an? [a-z -]+(\([^)]*\))? address); webhooks may only target public addresses unless PINSET_WEBHOOK_ALLOW_PRIVATE=true$/) }]);
    }
    expect(await tableCounts(t)).toEqual(before);
    // A public literal and a name are accepted at registration.
    for (const url of ["https://93.184.216.34/hook", "https://hooks.example.com/x"]) {
      const res = await t.request("POST", "/v1/projects/hooks/webhooks", { body: { url, events: ["environment.changed"], secret: SECRET } });
      expect(res.status, url).toBe(201);
      expect((await t.request("DELETE", `/v1/projects/hooks/webhooks/${(await res.json()).id}`)).status).toBe(204);
    }
  });

  it("refuses at delivery a name that resolves to a non-public address, sends nothing, and tells only admins why", async (ctx) => {
    if (!name) return ctx.skip();
    const created = await t.request("POST", "/v1/projects/hooks/webhooks", { body: { url: `http://${name}:${port}/hook`, events: ["artifact.published"], secret: SECRET } });
    expect(created.status).toBe(201);
    const hook = await created.json();
    expect((await t.request("POST", "/v1/projects/hooks/artifacts/config/c", { body: { content: content.config({ a: 1 }) } })).status).toBe(201);
    const admin = await waitFor("the refused attempt", async () => {
      const page = await (await t.request("GET", `/v1/projects/hooks/webhooks/${hook.id}/deliveries`)).json();
      return page.items.length > 0 && page;
    });
    expect(admin.items[0]).toMatchObject({
      status_code: null,
      error: expect.stringMatching(/^refused: the host resolves to \S+, a [a-z -]+ address; webhooks go to public addresses only \(PINSET_WEBHOOK_ALLOW_PRIVATE=true allows others\)$/),
    });
    expect(hits).toBe(0);
    // A read token sees that it failed, not why.
    const reader = await createToken(t, { scopes: ["read"], projects: ["hooks"] });
    const read = await (await t.request("GET", `/v1/projects/hooks/webhooks/${hook.id}/deliveries`, { token: reader.token })).json();
    expect(read.items[0]).toMatchObject({ status_code: null, error: "delivery failed (details are shown to admin tokens)" });
    expect(JSON.stringify(read)).not.toMatch(/refused|resolves|127\.|ECONN/);
  });
});

describe.each(backends())("webhook targets with PINSET_WEBHOOK_ALLOW_PRIVATE=true on $name", (backend) => {
  let t: TestApp;
  let receiver: Server;
  let hits = 0;
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      hits++;
      req.resume();
      req.on("end", () => res.writeHead(req.url === "/fail" ? 500 : 204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    t = await startTestApp(backend, { allowPrivateWebhooks: true, background: true, webhookDelivery: FAST });
    expect((await t.request("PUT", "/v1/projects/hooks")).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    receiver?.closeAllConnections();
    await new Promise<void>((r) => receiver?.close(() => r()));
  });

  it("delivers to 127.0.0.1, and shows a failure's status code to admins only", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const ok = await (await t.request("POST", "/v1/projects/hooks/webhooks", { body: { url: `http://127.0.0.1:${port}/ok`, events: ["artifact.published"], secret: SECRET } })).json();
    const failing = await (await t.request("POST", "/v1/projects/hooks/webhooks", { body: { url: `http://127.0.0.1:${port}/fail`, events: ["artifact.published"], secret: SECRET } })).json();
    expect((await t.request("POST", "/v1/projects/hooks/artifacts/config/c", { body: { content: content.config({ b: 2 }) } })).status).toBe(201);
    const attempts = async (id: string, token?: string) => (await (await t.request("GET", `/v1/projects/hooks/webhooks/${id}/deliveries`, token ? { token } : {})).json()).items;
    await waitFor("both deliveries", async () => (await attempts(ok.id)).length > 0 && (await attempts(failing.id)).length > 0);
    expect(hits).toBeGreaterThanOrEqual(2);
    expect((await attempts(failing.id))[0]).toMatchObject({ status_code: 500, error: "HTTP 500" });
    const reader = await createToken(t, { scopes: ["read"], projects: ["hooks"] });
    expect((await attempts(ok.id, reader.token))[0]).toMatchObject({ status_code: 204, error: null });
    expect((await attempts(failing.id, reader.token))[0]).toMatchObject({ status_code: null, error: "delivery failed (details are shown to admin tokens)" });
  });
});
