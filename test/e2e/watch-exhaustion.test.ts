import { mkdtemp, readdir, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchCapacity } from "../../src/environments/watch-streams.js";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.js";

const ADMIN = "e2e-admin-token-0123456789abcdef";
const NOFILE = 1024;
const ATTEMPTS = 2_000;

/** One GET on its own connection: the status, or the error code (ECONNRESET when the server has no descriptor left). */
function probe(url: string, token?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe(`a registry process with ulimit -n ${NOFILE}, under ${ATTEMPTS} watch attempts from one token`, () => {
  let dataDir: string;
  let server: SpawnedServer;
  const streams: http.ClientRequest[] = [];
  async function api(method: string, pathname: string, body?: unknown) {
    const res = await fetch(`${server.url}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    expect(res.status, `${method} ${pathname}`).toBeLessThan(300);
    return res.json() as Promise<Record<string, unknown>>;
  }
  function watch(token: string): Promise<number | string> {
    return new Promise((resolve) => {
      const req = http.get(`${server.url}/v1/projects/a/environments/prod/watch`, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        if (res.statusCode !== 200) res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      streams.push(req);
    });
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "pinset-exhaustion-"));
    // The per-token and per-address caps off: the instance's own cap must hold by itself.
    server = await spawnServer(
      { PINSET_DATA_DIR: dataDir, PINSET_ADMIN_TOKEN: ADMIN, PINSET_RATE_LIMIT_RPS: "0", PINSET_WATCH_MAX_PER_TOKEN: "0", PINSET_WATCH_MAX_PER_ADDRESS: "0" },
      { nofile: NOFILE, timeoutMs: 80_000 },
    );
  }, 90_000);
  afterAll(async () => {
    for (const req of streams) req.destroy();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("admits what its open-file limit allows, answers the rest 429, and keeps /healthz and another tenant's resolve working", async () => {
    for (const project of ["a", "b"]) {
      await api("PUT", `/v1/projects/${project}`);
      await api("POST", `/v1/projects/${project}/artifacts/config/app`, { content: { values: { project } } });
      const set = await api("POST", `/v1/projects/${project}/version-sets`, { components: { config: "config/app@1" } });
      await api("PUT", `/v1/projects/${project}/environments/prod`);
      await api("POST", `/v1/projects/${project}/environments/prod/deploy`, { version_set: set.id });
    }
    const readA = (await api("POST", "/v1/tokens", { name: "runtime a", scopes: ["read"], projects: ["a"] })).token as string;
    const readB = (await api("POST", "/v1/tokens", { name: "runtime b", scopes: ["read"], projects: ["b"] })).token as string;

    const counts = new Map<string, number>();
    const probes: string[] = [];
    for (let done = 0; done < ATTEMPTS; done += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => watch(readA)));
      for (const status of batch) counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
      const [health, resolveB] = await Promise.all([probe(`${server.url}/healthz`), probe(`${server.url}/v1/projects/b/environments/prod/resolve`, readB)]);
      if (health !== 200 || resolveB !== 200) probes.push(`after ${done + 100}: /healthz ${health}, resolve b ${resolveB}`);
    }
    const admitted = watchCapacity(NOFILE);
    expect(Object.fromEntries(counts)).toEqual({ "200": admitted, "429": ATTEMPTS - admitted });
    expect(probes).toEqual([]);

    // The descriptors kept back are really free: the process holds fewer than its limit.
    const fds = (await readdir(`/proc/${server.child.pid}/fd`)).length;
    expect(fds).toBeLessThan(NOFILE - 100);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`pinset_watch_refusals_total{reason="instance"} ${ATTEMPTS - admitted}`);
    expect(metrics).toContain(`pinset_watchers ${admitted}`);

    // The process serves with the keep-alive time-out main.ts sets (65 s, not Node's 5 s).
    expect((await fetch(`${server.url}/healthz`)).headers.get("keep-alive")).toBe("timeout=65");
  }, 180_000);
});
