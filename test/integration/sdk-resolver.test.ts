import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createResolver, type Resolver, type ResolverOptions, type ResolverSnapshot } from "../../src/client/resolver.js";
import { ensureCliBuilt, ROOT } from "../e2e/cli-support.js";
import { freePort } from "../support/spawn-server.js";
import { startNoWatchProxy, startTcpProxy } from "../support/tcp-proxy.js";
import { ADMIN_TOKEN, backends, startTestApp, type TestApp } from "../support/test-app.js";

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The resolver's requests as the registry answered them: which endpoint, status, Last-Event-ID sent. */
interface Call {
  endpoint: string;
  status: number;
  lastEventId: string | undefined;
}

function recordingFetch(calls: Call[]): ResolverOptions["fetch"] {
  return async (url, init) => {
    const response = await fetch(url, init);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ endpoint: new URL(url).pathname.split("/").pop()!, status: response.status, lastEventId: headers["last-event-id"] });
    return response;
  };
}

/** Every test asserts that nothing the resolver did ended in an unhandled rejection. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

describe.each(backends())("SDK createResolver against the registry on $name", (backend) => {
  let t: TestApp;
  let dir: string;
  /** Distinct sets of project sdk, each a config artifact in slot `cfg`. */
  const sets: string[] = [];
  const open: Resolver[] = [];
  let envCounter = 0;

  const envPath = (env: string, suffix = "") => `/v1/projects/sdk/environments/${env}${suffix}`;

  async function deploy(env: string, set: string): Promise<void> {
    const res = await t.request("POST", envPath(env, "/deploy"), { body: { version_set: set } });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  /** A fresh environment (tests do not share pointers) with `set` deployed. */
  async function environment(set: string): Promise<string> {
    const env = `env-${++envCounter}`;
    expect((await t.request("PUT", envPath(env))).status).toBe(201);
    await deploy(env, set);
    return env;
  }

  function resolver(env: string, options: Partial<ResolverOptions> = {}) {
    const r = createResolver({ url: t.url, token: ADMIN_TOKEN, project: "sdk", environment: env, retry: { initialDelayMs: 50, maxDelayMs: 200 }, ...options });
    open.push(r);
    const changes: ResolverSnapshot[] = [];
    r.on("change", (next) => changes.push(next));
    return { r, changes };
  }

  async function resolveJson(env: string, subject?: string): Promise<unknown> {
    const res = await t.request("GET", envPath(env, `/resolve${subject ? `?subject=${encodeURIComponent(subject)}` : ""}`));
    expect(res.status).toBe(200);
    return res.json();
  }

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    t = await startTestApp(backend);
    dir = await mkdtemp(path.join(tmpdir(), "pinset-sdk-resolver-"));
    expect((await t.request("PUT", "/v1/projects/sdk")).status).toBe(201);
    for (let i = 0; i < 6; i++) {
      const published = await t.request("POST", "/v1/projects/sdk/artifacts/config/app", { body: { content: { values: { i } } } });
      const { version } = (await published.json()) as { version: number };
      const created = await t.request("POST", "/v1/projects/sdk/version-sets", { body: { components: { cfg: `config/app@${version}` } } });
      expect(created.status).toBe(201);
      sets.push(((await created.json()) as { id: string }).id);
    }
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.close()));
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts with what resolve answers, then a deploy reaches it through watch within a second", async () => {
    const env = await environment(sets[0]!);
    const calls: Call[] = [];
    const { r, changes } = resolver(env, { fetch: recordingFetch(calls) });
    const first = await r.ready;
    expect(first).toMatchObject({ versionSet: sets[0], source: "registry", stale: false });
    expect(r.current()).toEqual(await resolveJson(env));

    await waitFor(() => calls.some((c) => c.endpoint === "watch" && c.status === 200), "the watch stream");
    // The state event at connect names the set already held: no second resolve.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const deployedAt = performance.now();
    await deploy(env, sets[1]!);
    await waitFor(() => changes.length === 1, "the change event", 1_000);
    expect(performance.now() - deployedAt).toBeLessThan(1_000);
    expect(changes[0]).toMatchObject({ versionSet: sets[1], stale: false });
    expect(r.current()).toEqual(await resolveJson(env));
    expect(calls.map((c) => `${c.endpoint} ${c.status}`)).toEqual(["resolve 200", "watch 200", "resolve 200"]);
  });

  it("falls back to etag polling where watch answers 404, and picks up a deploy", async () => {
    const env = await environment(sets[0]!);
    const proxy = await startNoWatchProxy(t.url);
    try {
      const { r, changes } = resolver(env, { url: proxy.url, pollIntervalMs: 100 });
      await r.ready;
      await waitFor(() => proxy.watchRequests() === 1, "the watch attempt");
      await deploy(env, sets[2]!);
      await waitFor(() => changes.length === 1, "the change by polling", 3_000);
      expect(r.snapshot()).toMatchObject({ versionSet: sets[2], stale: false });
      expect(proxy.watchRequests()).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("polls only with transport: poll", async () => {
    const env = await environment(sets[0]!);
    const { r, changes } = resolver(env, { transport: "poll", pollIntervalMs: 100 });
    await r.ready;
    await deploy(env, sets[3]!);
    await waitFor(() => changes.length === 1, "the change by polling", 3_000);
    expect(r.current()).toEqual(await resolveJson(env));
  });

  it("starts from its cache file while the registry is down (stale), then recovers when it comes back", async () => {
    const env = await environment(sets[0]!);
    const cacheFile = path.join(dir, `${env}.json`);
    const first = resolver(env, { cacheFile });
    await first.r.ready;
    await first.r.close();
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);

    const port = await freePort();
    const errors: Error[] = [];
    const second = resolver(env, { url: `http://127.0.0.1:${port}`, cacheFile });
    second.r.on("error", (e) => errors.push(e));
    expect(await second.r.ready).toMatchObject({ versionSet: sets[0], source: "cache-file", stale: true });
    expect(second.r.current()).toEqual(await resolveJson(env));
    await deploy(env, sets[4]!);
    await waitFor(() => errors.length >= 3, "retries against the dead port");
    expect(second.r.stale).toBe(true);
    expect(second.r.versionSet).toBe(sets[0]);

    const registry = await startTcpProxy(t.url, port);
    try {
      await waitFor(() => second.changes.length === 1, "the recovery");
      expect(second.r.snapshot()).toMatchObject({ versionSet: sets[4], source: "registry", stale: false });
      expect(second.r.current()).toEqual(await resolveJson(env));
    } finally {
      await second.r.close();
      await registry.close();
    }
  });

  it("rejects ready with a clear error when nothing listens and there is no cache file", async () => {
    const port = await freePort();
    const { r } = resolver("env-1", { url: `http://127.0.0.1:${port}`, cacheFile: path.join(dir, "absent.json") });
    await expect(r.ready).rejects.toThrow(/^Cannot resolve sdk\/env-1: cannot reach the registry at .*ECONNREFUSED; and there is nothing to start from: cache file .*absent.json does not exist$/);
  });

  it("rejects ready when the environment has nothing deployed or the token is wrong", async () => {
    expect((await t.request("PUT", envPath("empty"))).status).toBe(201);
    await expect(resolver("empty").r.ready).rejects.toThrow(/Cannot resolve sdk\/empty: .*no active version set/);
    await expect(resolver(`env-1`, { token: "wrong" }).r.ready).rejects.toThrow(/Cannot resolve sdk\/env-1: /);
  });

  it("keeps the bundle through a cut connection and catches up on reconnect (Last-Event-ID)", async () => {
    const env = await environment(sets[0]!);
    let proxy = await startTcpProxy(t.url);
    const port = proxy.port;
    const calls: Call[] = [];
    const { r, changes } = resolver(env, { url: proxy.url, fetch: recordingFetch(calls) });
    await r.ready;
    await waitFor(() => calls.some((c) => c.endpoint === "watch" && c.status === 200), "the watch stream");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await proxy.close();
    const { revision } = (await (await t.request("GET", envPath(env))).json()) as { revision: number };
    await deploy(env, sets[5]!);
    await waitFor(() => r.stale, "stale after the cut");
    expect(r.versionSet).toBe(sets[0]);
    proxy = await startTcpProxy(t.url, port);
    try {
      await waitFor(() => changes.length === 1, "the catch-up");
      expect(r.snapshot()).toMatchObject({ versionSet: sets[5], stale: false });
      const watches = calls.filter((c) => c.endpoint === "watch" && c.status === 200);
      expect(watches[0]!.lastEventId).toBeUndefined();
      expect(watches.at(-1)!.lastEventId).toBe(String(revision));
    } finally {
      await r.close();
      await proxy.close();
    }
  });

  it("with a subject, follows its rollout assignment", async () => {
    const env = await environment(sets[0]!);
    const calls: Call[] = [];
    const { r, changes } = resolver(env, { subject: "tenant-42", fetch: recordingFetch(calls) });
    expect(await r.ready).toMatchObject({ versionSet: sets[0], assignment: null });
    await waitFor(() => calls.some((c) => c.endpoint === "watch" && c.status === 200), "the watch stream");
    const started = await t.request("PUT", envPath(env, "/rollout"), { body: { candidate: sets[1], percent: 0.01, allow: ["tenant-42"] } });
    expect(started.status, await started.clone().text()).toBe(201);
    await waitFor(() => changes.length === 1, "the assignment change", 2_000);
    expect(r.snapshot()).toMatchObject({ versionSet: sets[1], assignment: "candidate" });
    expect(r.current()).toEqual(await resolveJson(env, "tenant-42"));
  });

  it.runIf(backend.database === "pglite")("is importable from plain Node as pinset/client and resolves", async () => {
    const env = await environment(sets[2]!);
    await ensureCliBuilt();
    const script = `
      import { createResolver } from "pinset/client";
      const r = createResolver({ url: process.env.URL, token: process.env.TOKEN, project: "sdk", environment: process.env.ENV });
      const first = await r.ready;
      console.log(JSON.stringify({ versionSet: first.versionSet, id: r.current().id, stale: r.stale }));
      await r.close();
    `;
    // Asynchronous: the registry answering the child runs in this process's event loop.
    const run = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", env: { PATH: process.env.PATH, URL: t.url, TOKEN: ADMIN_TOKEN, ENV: env }, timeout: 20_000 });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ versionSet: sets[2], id: sets[2], stale: false });
  }, 180_000);
});
