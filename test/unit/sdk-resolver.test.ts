import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PinsetApiError, RegistryUnreachableError } from "../../src/client/errors.js";
import { createResolver, ResolverStartError, type Resolver, type ResolverOptions, type ResolverSnapshot } from "../../src/client/resolver.js";
import { FakeRegistry } from "../support/fake-registry.js";

async function waitFor(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let dir: string;
const open: Resolver[] = [];

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  dir = await mkdtemp(path.join(tmpdir(), "pinset-resolver-unit-"));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
  expect(unhandled).toEqual([]);
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await rm(dir, { recursive: true, force: true });
});

/** A resolver on the fake registry with fast retries; closed after each test. */
function start(registry: FakeRegistry, options: Partial<ResolverOptions> = {}) {
  const resolver = createResolver({
    url: "http://registry.test",
    token: "t0ken",
    project: "demo",
    environment: "prod",
    fetch: registry.fetch,
    retry: { initialDelayMs: 5, maxDelayMs: 20 },
    pollIntervalMs: 20,
    ...options,
  });
  open.push(resolver);
  const changes: Array<[ResolverSnapshot, ResolverSnapshot]> = [];
  const errors: Error[] = [];
  resolver.on("change", (next, previous) => changes.push([next, previous]));
  resolver.on("error", (error) => errors.push(error));
  return { resolver, changes, errors };
}

describe("createResolver against a fake registry", () => {
  it("resolves first, then watches; current() is the parsed bundle, frozen, not stale", async () => {
    const registry = new FakeRegistry();
    const { resolver } = start(registry);
    const first = await resolver.ready;
    expect(first).toMatchObject({ versionSet: "vs_a", etag: '"vs_a"', source: "registry", stale: false, assignment: null });
    expect(resolver.current()).toEqual(registry.bundle("vs_a"));
    expect(Object.isFrozen(resolver.current().components)).toBe(true);
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    const watch = registry.last("watch")!;
    expect(watch.url.pathname).toBe("/v1/projects/demo/environments/prod/watch");
    expect(watch.headers).toMatchObject({ authorization: "Bearer t0ken", accept: "text/event-stream" });
    // The state event at connect names the set already held: no second resolve.
    await new Promise((r) => setTimeout(r, 30));
    expect(registry.count("resolve")).toBe(1);
  });

  it("throws a clear error from current() before the first bundle", () => {
    const registry = new FakeRegistry();
    const { resolver } = start(registry);
    expect(() => resolver.current()).toThrow(/await resolver.ready/);
  });

  it("on a deploy, re-resolves with if-none-match and emits change with the new and previous set", async () => {
    const registry = new FakeRegistry();
    const { resolver, changes } = start(registry);
    await resolver.ready;
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    registry.deploy("vs_b");
    await waitFor(() => changes.length === 1, "the change");
    expect(changes[0]![0]).toMatchObject({ versionSet: "vs_b", stale: false });
    expect(changes[0]![1].versionSet).toBe("vs_a");
    expect(resolver.current()).toEqual(registry.bundle("vs_b"));
    expect(registry.last("resolve")!.headers["if-none-match"]).toBe('"vs_a"');
  });

  it("with a subject, re-resolves on every change and emits only when its set changes", async () => {
    const registry = new FakeRegistry();
    const { resolver, changes } = start(registry, { subject: "user 7/é" });
    await resolver.ready;
    expect(registry.last("resolve")!.url.searchParams.get("subject")).toBe("user 7/é");
    await waitFor(() => registry.openStreams === 1 && registry.count("resolve") === 2, "the resolve after the first state event");
    registry.broadcast(); // a rollout step that does not move this subject
    await waitFor(() => registry.count("resolve") === 3, "a re-resolve");
    expect(changes).toEqual([]);
    registry.assignments.set("user 7/é", { set: "vs_c", assignment: "candidate" });
    registry.revision++;
    registry.broadcast();
    await waitFor(() => changes.length === 1, "the assignment change");
    expect(resolver.snapshot()).toMatchObject({ versionSet: "vs_c", assignment: "candidate" });
  });

  it("reconnects after a cut stream with Last-Event-ID and catches up with what changed meanwhile", async () => {
    const registry = new FakeRegistry();
    const { resolver, changes } = start(registry);
    await resolver.ready;
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    registry.cut();
    registry.down = true;
    await waitFor(() => resolver.stale, "stale after the cut");
    registry.active = "vs_b";
    registry.revision = 5;
    registry.down = false;
    await waitFor(() => changes.length === 1, "the catch-up change");
    expect(resolver.snapshot()).toMatchObject({ versionSet: "vs_b", stale: false });
    const watches = registry.requests.filter((r) => r.kind === "watch");
    expect(watches[0]!.headers["last-event-id"]).toBeUndefined();
    expect(watches.at(-1)!.headers["last-event-id"]).toBe("1");
    await waitFor(() => registry.openStreams === 1, "the new stream");
    registry.deploy("vs_c");
    await waitFor(() => changes.length === 2, "the next change");
  });

  it("falls back to etag polling when watch answers 404, and picks up a deploy", async () => {
    const registry = new FakeRegistry();
    registry.watchMode = 404;
    const { resolver, changes } = start(registry);
    await resolver.ready;
    await waitFor(() => registry.count("resolve") >= 3, "polls");
    expect(registry.count("watch")).toBe(1);
    expect(registry.last("resolve")!.headers["if-none-match"]).toBe('"vs_a"');
    expect(changes).toEqual([]);
    registry.deploy("vs_b");
    await waitFor(() => changes.length === 1, "the change by polling");
    expect(resolver.snapshot()).toMatchObject({ versionSet: "vs_b", stale: false });
  });

  it("falls back to polling when the stream keeps failing (500 three times)", async () => {
    const registry = new FakeRegistry();
    registry.watchMode = 500;
    const { resolver, changes, errors } = start(registry);
    await resolver.ready;
    await waitFor(() => registry.count("watch") === 3 && registry.count("resolve") >= 3, "polling after three failures");
    expect(errors[0]).toBeInstanceOf(PinsetApiError);
    registry.deploy("vs_b");
    await waitFor(() => changes.length === 1, "the change by polling");
    expect(registry.count("watch")).toBe(3);
  });

  it("polls only with transport: poll", async () => {
    const registry = new FakeRegistry();
    const { resolver, changes } = start(registry, { transport: "poll" });
    await resolver.ready;
    registry.deploy("vs_b");
    await waitFor(() => changes.length === 1, "the change by polling");
    expect(registry.count("watch")).toBe(0);
  });

  it("reconnects a stream that goes silent past the idle timeout", async () => {
    const registry = new FakeRegistry();
    registry.watchMode = "silent";
    const { resolver, errors } = start(registry, { idleTimeoutMs: 40 });
    await resolver.ready;
    await waitFor(() => registry.count("watch") >= 2, "a second watch");
    expect(errors[0]?.message).toMatch(/silent for 40 ms/);
  });

  it("rides out a registry outage after start: keeps the bundle, marks it stale, recovers", async () => {
    const registry = new FakeRegistry();
    const { resolver, changes, errors } = start(registry);
    await resolver.ready;
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    registry.down = true;
    registry.cut();
    await waitFor(() => errors.length >= 4, "several failed retries");
    expect(errors.every((e) => e instanceof RegistryUnreachableError)).toBe(true);
    expect(resolver.stale).toBe(true);
    expect(resolver.current()).toEqual(registry.bundle("vs_a"));
    registry.down = false;
    await waitFor(() => !resolver.stale, "fresh again");
    expect(changes).toEqual([]);
  });

  it("says stale while the registry itself serves stale data (its database is down)", async () => {
    const registry = new FakeRegistry();
    registry.stale = true;
    const { resolver } = start(registry);
    expect((await resolver.ready).stale).toBe(true);
    registry.stale = false;
    // A stale stream is recycled every poll interval to learn about the recovery.
    await waitFor(() => !resolver.stale, "fresh after the registry recovered");
  });

  it("keeps going when a change listener throws, reporting the throw", async () => {
    const registry = new FakeRegistry();
    const { resolver, changes, errors } = start(registry);
    resolver.on("change", () => {
      throw new Error("listener bug");
    });
    await resolver.ready;
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    registry.deploy("vs_b");
    await waitFor(() => errors.some((e) => e.message === "listener bug"), "the reported throw");
    registry.deploy("vs_c");
    await waitFor(() => changes.length === 2, "the next change");
  });

  it("off() removes a listener", async () => {
    const registry = new FakeRegistry();
    const { resolver } = start(registry);
    const seen: string[] = [];
    const listener = (next: ResolverSnapshot) => seen.push(next.versionSet);
    resolver.on("change", listener).off("change", listener);
    await resolver.ready;
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    registry.deploy("vs_b");
    await waitFor(() => resolver.versionSet === "vs_b", "the change");
    expect(seen).toEqual([]);
  });

  it("rejects ready with a clear error when the registry is away and there is no cache file", async () => {
    const registry = new FakeRegistry();
    registry.down = true;
    const { resolver } = start(registry, { cacheFile: path.join(dir, "never-written.json") });
    const error = await resolver.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolverStartError);
    expect((error as Error).message).toMatch(/Cannot resolve demo\/prod: cannot reach the registry at .*ECONNREFUSED; and there is nothing to start from: cache file .* does not exist/);
    expect((error as Error).cause).toBeInstanceOf(RegistryUnreachableError);
  });

  it("rejects ready on a 4xx even with a cache file: a bad token must not be hidden", async () => {
    const registry = new FakeRegistry();
    const cacheFile = path.join(dir, "for-401.json");
    const first = start(registry, { cacheFile });
    await first.resolver.ready;
    await first.resolver.close();
    registry.resolveStatus = 401;
    const error = await start(registry, { cacheFile }).resolver.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolverStartError);
    expect(((error as Error).cause as PinsetApiError).code).toBe("unauthorized");
  });

  it("writes each new bundle to the cache file (0600) and starts from it, stale, when the registry is away", async () => {
    const registry = new FakeRegistry();
    const cacheFile = path.join(dir, "lkg.json");
    const first = start(registry, { cacheFile });
    await first.resolver.ready;
    await waitFor(() => registry.openStreams === 1, "the watch stream");
    registry.deploy("vs_b");
    await waitFor(() => first.changes.length === 1, "the change");
    await first.resolver.close();
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);

    registry.down = true;
    const second = start(registry, { cacheFile });
    expect(await second.resolver.ready).toMatchObject({ versionSet: "vs_b", source: "cache-file", stale: true });
    expect(second.resolver.current()).toEqual(registry.bundle("vs_b"));
    registry.active = "vs_c";
    registry.down = false;
    await waitFor(() => second.changes.length === 1, "the recovery change");
    expect(second.changes[0]![0]).toMatchObject({ versionSet: "vs_c", source: "registry", stale: false });
    expect(second.changes[0]![1]).toMatchObject({ versionSet: "vs_b", source: "cache-file" });
  });

  it("creates a cacheFile's missing folder (0700) and writes there, so a fresh machine has a last known good file", async () => {
    const registry = new FakeRegistry();
    const folder = path.join(dir, "var-cache", "pinset");
    const cacheFile = path.join(folder, "prod.json");
    const first = start(registry, { cacheFile });
    await first.resolver.ready;
    await first.resolver.close();
    expect(first.errors).toEqual([]);
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(path.dirname(folder))).mode & 0o777).toBe(0o700);

    registry.down = true;
    const second = start(registry, { cacheFile });
    expect(await second.resolver.ready).toMatchObject({ versionSet: "vs_a", source: "cache-file", stale: true });
  });

  it("a cache file that cannot be written is an error event, and a process warning (once) when nobody listens", async () => {
    const notAFolder = path.join(dir, "plain-file");
    await writeFile(notAFolder, "x");
    const cacheFile = path.join(notAFolder, "prod.json");

    const registry = new FakeRegistry();
    const heard = start(registry, { cacheFile });
    await heard.resolver.ready;
    await heard.resolver.close();
    expect(heard.errors.map((e) => e.message)).toEqual([`cannot create the folder ${notAFolder}: a file is in the way`]);

    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const silent = createResolver({ url: "http://registry.test", project: "demo", environment: "prod", fetch: registry.fetch, cacheFile, retry: { initialDelayMs: 5, maxDelayMs: 20 } });
      open.push(silent);
      await silent.ready;
      await waitFor(() => registry.openStreams >= 1, "the watch stream");
      registry.deploy("vs_b");
      await waitFor(() => silent.versionSet === "vs_b", "the change");
      await silent.close();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.map((w) => [w.name, w.message])).toEqual([
        ["PinsetResolverWarning", expect.stringMatching(/^pinset resolver demo\/prod: cannot write the cache file .*prod\.json: cannot create the folder .*plain-file: a file is in the way$/)],
      ]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("revalidates the cache file at start with if-none-match (304: no body, not stale)", async () => {
    const registry = new FakeRegistry();
    const cacheFile = path.join(dir, "revalidate.json");
    const first = start(registry, { cacheFile });
    await first.resolver.ready;
    await first.resolver.close();
    const before = registry.count("resolve");
    const second = start(registry, { cacheFile });
    expect(await second.resolver.ready).toMatchObject({ versionSet: "vs_a", source: "registry", stale: false });
    expect(registry.requests.filter((r) => r.kind === "resolve")[before]!.headers["if-none-match"]).toBe('"vs_a"');
  });

  it("close() stops every request, and rejects a start still in flight", async () => {
    const registry = new FakeRegistry();
    registry.watchMode = 500;
    const { resolver } = start(registry);
    await resolver.ready;
    await resolver.close();
    const count = registry.requests.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(registry.requests.length).toBe(count);

    const hanging = createResolver({ url: "http://registry.test", project: "demo", environment: "prod", fetch: (_u, init) => new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason))) });
    const closing = hanging.close();
    await expect(hanging.ready).rejects.toThrow(/closed before its first bundle/);
    await closing;
  });
});
