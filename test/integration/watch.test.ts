import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { SseClient, type SseEvent } from "../support/sse-client.js";
import { backends, startTestApp, type TestApp } from "../support/test-app.js";

interface EnvironmentJson {
  name: string;
  active: string | null;
  revision: number;
  updated_at: string;
  protected: boolean;
  frozen: boolean;
  rollout: unknown;
  created_at: string;
  stale?: boolean;
}

const HEARTBEAT_MS = 150;

describe.each(backends())("watch on $name", (backend) => {
  let t: TestApp;
  let sets: string[];
  const env = (name: string, suffix = "") => `/v1/projects/demo/environments/${name}${suffix}`;
  const watchUrl = (name: string, query = "") => `${t.url}${env(name, "/watch")}${query}`;
  const data = (e: SseEvent) => JSON.parse(e.data) as EnvironmentJson;
  const open: SseClient[] = [];
  async function watch(name: string, options: Parameters<typeof SseClient.connect>[1] & { query?: string } = {}) {
    const client = await SseClient.connect(watchUrl(name, options.query ?? ""), options);
    open.push(client);
    return client;
  }
  async function deploy(name: string, versionSet: string): Promise<number> {
    const res = await t.request("POST", env(name, "/deploy"), { body: { version_set: versionSet } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { revision: number }).revision;
  }
  async function current(name: string): Promise<EnvironmentJson> {
    return (await (await t.request("GET", env(name))).json()) as EnvironmentJson;
  }
  async function watchersBackTo(n: number) {
    const deadline = Date.now() + 3000;
    while (t.pinset.services.watchHub.watcherCount() !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return t.pinset.services.watchHub.watcherCount();
  }

  beforeAll(async () => {
    t = await startTestApp(backend, { watch: { heartbeatMs: HEARTBEAT_MS, recentSize: 2 } });
    expect((await t.request("PUT", "/v1/projects/demo")).status).toBe(201);
    sets = [];
    for (const text of ["w1 {{question}}", "w2 {{question}}", "w3 {{question}}"]) {
      const published = await t.request("POST", "/v1/projects/demo/artifacts/prompt/watched", { body: { content: content.prompt(text) } });
      const { version } = (await published.json()) as { version: number };
      const created = await t.request("POST", "/v1/projects/demo/version-sets", { body: { components: { "prompt.main": `prompt/watched@${version}` } } });
      sets.push(((await created.json()) as { id: string }).id);
    }
    for (const name of ["live", "replay", "beat", "gone"]) expect((await t.request("PUT", env(name))).status).toBe(201);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.close();
  });

  it("sends the state at once (as GET environment answers it), then one change event per revision", async () => {
    await deploy("live", sets[0]!);
    const client = await watch("live");
    expect(client.status).toBe(200);
    expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.headers["cache-control"]).toContain("no-cache");
    expect(client.headers["x-pinset-stale"]).toBeUndefined();
    const first = await client.next();
    expect(first.event).toBe("state");
    expect(first.id).toBe("1");
    expect(data(first)).toEqual(await current("live"));

    for (const [i, set] of [sets[1]!, sets[2]!, sets[0]!].entries()) {
      const revision = await deploy("live", set);
      expect(revision).toBe(2 + i);
      const change = await client.next();
      expect(change).toMatchObject({ event: "change", id: String(revision) });
      expect(data(change)).toEqual(await current("live"));
    }
    expect(client.events.map((e) => e.id)).toEqual(["1", "2", "3", "4"]);
  });

  it("replays every revision after Last-Event-ID, in order, each as the environment was then (history)", async () => {
    const states: EnvironmentJson[] = [];
    for (const set of [sets[0]!, sets[1]!, sets[2]!, sets[1]!]) {
      await deploy("replay", set);
      states.push(await current("replay"));
    }
    // Nobody watched: the past states come from the history.
    const byHeader = await watch("replay", { headers: { "last-event-id": "1" } });
    const replayed = [await byHeader.next(), await byHeader.next(), await byHeader.next()];
    expect(replayed.map((e) => [e.event, e.id])).toEqual([
      ["change", "2"],
      ["change", "3"],
      ["change", "4"],
    ]);
    expect(replayed.map(data)).toEqual(states.slice(1));

    const byQuery = await watch("replay", { query: "?last_event_id=2" });
    expect([await byQuery.next(), await byQuery.next()].map((e) => [e.event, e.id])).toEqual([
      ["change", "3"],
      ["change", "4"],
    ]);

    // Watched now: recent frames (2 kept here) and the history fill in together.
    await deploy("replay", sets[0]!);
    await deploy("replay", sets[2]!);
    await byQuery.next((e) => e.id === "6");
    const resumed = await watch("replay", { headers: { "last-event-id": "2" } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await resumed.next()).id!);
    expect(ids).toEqual(["3", "4", "5", "6"]);
    expect(resumed.events.map(data)).toEqual(byQuery.events.map(data));
  });

  it("sends the state when nothing was missed, and refuses a Last-Event-ID that is not a revision", async () => {
    const revision = (await current("replay")).revision;
    const upToDate = await watch("replay", { headers: { "last-event-id": String(revision) } });
    expect(await upToDate.next()).toMatchObject({ event: "state", id: String(revision) });
    const ahead = await watch("replay", { headers: { "last-event-id": "999999999999" } });
    expect(await ahead.next()).toMatchObject({ event: "state", id: String(revision) });

    for (const bad of [{ headers: { "last-event-id": "abc" } }, { query: "?last_event_id=-1" }]) {
      const refused = await watch("replay", bad);
      expect(refused.status).toBe(400);
      expect(refused.headers["content-type"]).toContain("application/problem+json");
      expect(JSON.parse(refused.body)).toMatchObject({ code: "validation_failed" });
    }
  });

  it("answers HEAD with the stream's headers and no body", async () => {
    const res = await t.request("HEAD", env("live", "/watch"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await res.text()).toBe("");
  });

  it("answers 404 for an unknown environment and 401 without a token, as problem+json", async () => {
    const missing = await watch("nope");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: "not_found" });
    const anonymous = await watch("live", { token: null });
    expect(anonymous.status).toBe(401);
  });

  it("sends a comment heartbeat on the configured interval", async () => {
    const client = await watch("beat");
    await client.next();
    const started = Date.now();
    expect(await client.nextComment(2_000)).toBe("hb");
    expect(await client.nextComment(2_000)).toBe("hb");
    expect(Date.now() - started).toBeLessThan(HEARTBEAT_MS * 2 + 1_000);
  });

  it("forgets watchers that disconnect", async () => {
    for (const c of open.splice(0)) c.close();
    expect(await watchersBackTo(0)).toBe(0);
    const clients = await Promise.all(Array.from({ length: 5 }, () => watch("gone")));
    await Promise.all(clients.map((c) => c.next()));
    expect(t.pinset.services.watchHub.watcherCount()).toBe(5);
    for (const c of clients) c.close();
    expect(await watchersBackTo(0)).toBe(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^pinset_watchers 0$/m);
  });
});
