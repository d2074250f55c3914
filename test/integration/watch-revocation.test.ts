import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseClient } from "../support/sse-client.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";
import { createToken } from "../support/tokens.js";

/** Resolves with the time at which the stream ended; fails after `ms`. */
async function endOf(client: SseClient, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  while (!client.closed) {
    if (Date.now() > deadline) throw new Error(`the stream was still open after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now();
}

describe.each(backends())("revoked and expired tokens lose their watch streams on $name", (backend) => {
  // a: the instance that handles revocations; b: a second instance on the same database.
  let a: TestApp;
  let b: TestApp;
  const open: SseClient[] = [];
  const watchUrl = (app: TestApp) => `${app.url}/v1/projects/demo/environments/prod/watch`;
  async function watch(app: TestApp, token: string) {
    const client = await SseClient.connect(watchUrl(app), { token });
    open.push(client);
    expect(client.status).toBe(200);
    await client.next((e) => e.event === "state");
    return client;
  }

  beforeAll(async () => {
    a = await startTestApp(backend, { changeFeed: { initialBackoffMs: 50, maxBackoffMs: 200 } });
    b = await startTestApp(backend, { sharedDatabaseOf: a });
    expect((await a.request("PUT", "/v1/projects/demo")).status).toBe(201);
    expect((await a.request("PUT", "/v1/projects/demo/environments/prod")).status).toBe(201);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await b?.close();
    await a?.close();
  });

  it("ends a revoked token's streams within a second, on this instance and on every other, and refuses it after", async () => {
    const token = await createToken(a, { scopes: ["read"], projects: ["demo"] });
    const bystander = await createToken(a, { scopes: ["read"], projects: ["demo"] });
    const here = await watch(a, token.token);
    const there = await watch(b, token.token);
    const untouched = await watch(b, bystander.token);
    const revoked = Date.now();
    expect((await a.request("DELETE", `/v1/tokens/${token.id}`)).status).toBe(204);
    expect((await endOf(here, 1_000)) - revoked).toBeLessThan(1_000);
    expect((await endOf(there, 1_000)) - revoked).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(untouched.closed).toBe(false);
    for (const app of [a, b]) {
      const again = await SseClient.connect(watchUrl(app), { token: token.token });
      expect(again.status).toBe(401);
    }
    expect(a.pinset.services.watchStreams.open + b.pinset.services.watchStreams.open).toBe(1);
  });

  it("ends an expiring token's streams within a second of its expiry, on every instance", async () => {
    const expiresAt = Date.now() + 2_500;
    const token = await createToken(a, { scopes: ["read"], projects: ["demo"], expires_at: new Date(expiresAt).toISOString() });
    const here = await watch(a, token.token);
    const there = await watch(b, token.token);
    for (const client of [here, there]) {
      const ended = await endOf(client, expiresAt - Date.now() + 1_000);
      expect(ended).toBeGreaterThanOrEqual(expiresAt - 50);
      expect(ended - expiresAt).toBeLessThan(1_000);
    }
    expect((await SseClient.connect(watchUrl(b), { token: token.token })).status).toBe(401);
  });

  it("ends the streams of a token revoked while the change feed was not listening, once it listens again", async () => {
    const token = await createToken(a, { scopes: ["read"], projects: ["demo"] });
    const client = await watch(a, token.token);
    // A revocation no instance heard of: the row changes, no NOTIFY is sent.
    await sql`update tokens set revoked_at = now() where id = ${token.id}`.execute(a.db.handle.db);
    await new Promise((r) => setTimeout(r, 300));
    expect(client.closed).toBe(false);
    // The feed loses its connection and listens again (resync).
    if (backend.database === "postgres") {
      const pid = a.feed!.backendPid();
      await sql`select pg_terminate_backend(${pid}::int)`.execute(b.db.handle.db);
    } else {
      await a.feed!.stop();
      a.feed!.start();
    }
    await endOf(client, 5_000);
  });
});
