/**
 * Finding 2 against a running registry (`node --import tsx src/main.ts`, as `npm start` runs
 * it): while a pathological schema is compiled, and while two contracts are compared through a
 * catastrophically backtracking regex, `/healthz` and a resolve keep answering within 50 ms —
 * the work runs in a worker thread. Before, both ran on the event loop and stalled every
 * request for seconds (the compile) or minutes (the comparison).
 */
import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { content } from "../support/builders.js";
import { redosContracts, slowSchema } from "../support/schemas.js";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.js";

const TOKEN = "schema-event-loop-token-0123456789";
const BUDGET_MS = 2_000;
const PROBE_LIMIT_MS = 50;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(`${url} answered ${res.statusCode}`))));
    });
    req.on("error", reject);
  });
}

/** Resolves once the registry reports a schema job running in a worker (its /metrics). */
async function jobRunning(server: SpawnedServer, settled: () => boolean): Promise<void> {
  while (!settled()) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    if (/^pinset_schema_jobs_running [1-9]/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Probes /healthz and the resolve one after the other while the schema job runs: from when the
 * registry reports it running (or 500 ms after the request at the latest — a registry without
 * the metric compiles on its event loop by then) until `during` settles. Reading the request
 * body before the job starts is ordinary request handling of a few hundred KB, measured by
 * `npm run bench -- --only schema-stall`, not part of this.
 */
async function probeWhile<T>(server: SpawnedServer, resolveUrl: string, during: Promise<T>, options = { waitForJob: true }): Promise<{ result: T; latencies: number[] }> {
  let done = false;
  const settled = during.finally(() => (done = true));
  if (options.waitForJob) await Promise.race([jobRunning(server, () => done), new Promise((r) => setTimeout(r, 500))]);
  const latencies: number[] = [];
  while (!done) {
    for (const url of [`${server.url}/healthz`, resolveUrl]) {
      const started = performance.now();
      await get(url);
      latencies.push(performance.now() - started);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { result: await settled, latencies };
}

/** The same probes with nothing else going on, for `ms`: the machine's own noise, same run. */
async function idleProbe(server: SpawnedServer, resolveUrl: string, ms: number): Promise<number[]> {
  const until = new Promise<void>((r) => setTimeout(r, ms));
  return (await probeWhile(server, resolveUrl, until, { waitForJob: false })).latencies;
}

/**
 * Runs `attempt` (which starts the expensive request and probes while its job runs) up to five
 * times, until the largest probe latency of one run is under the limit. The machine is shared
 * with other test runs: another process can take the core from the registry for a moment in
 * any run — even with nothing else going on, which an idle baseline beside each run measures —
 * whereas an event loop blocked by the compile or the comparison stalls the probes for the whole
 * job: the budget (2 s) here, minutes before the fix. So when no run is clean and the idle
 * baselines show the machine itself is too busy to resolve 50 ms, the best run must still stay
 * well under the budget (a stall it would reach); on a quiet machine, 50 ms holds.
 */
async function expectResponsive(server: SpawnedServer, resolveUrl: string, attempt: () => Promise<number[]>): Promise<void> {
  const runs: Array<{ job: number[]; idle: number[] }> = [];
  const max = (values: number[]) => Math.max(...values);
  for (let i = 0; i < 5; i++) {
    const idle = await idleProbe(server, resolveUrl, BUDGET_MS);
    const job = await attempt();
    expect(job.length, "probes during the work").toBeGreaterThanOrEqual(10);
    runs.push({ job, idle });
    if (max(job) < PROBE_LIMIT_MS) {
      process.stdout.write(`event loop: run ${i + 1} clean, max ${max(job).toFixed(1)} ms over ${job.length} probes (idle beside it: max ${max(idle).toFixed(1)} ms)\n`);
      return;
    }
  }
  const shown = runs
    .map((r, i) => `run ${i + 1}: max ${max(r.job).toFixed(1)} ms of ${r.job.length} probes (idle beside it: max ${max(r.idle).toFixed(1)} ms) [${r.job.map((l) => l.toFixed(1)).join(" ")}]`)
    .join("\n");
  const busy = runs.some((r) => max(r.idle) >= PROBE_LIMIT_MS);
  expect(busy, `/healthz or resolve took ${PROBE_LIMIT_MS} ms or more in every run, on a machine quiet enough for it:\n${shown}`).toBe(true);
  const best = Math.min(...runs.map((r) => max(r.job)));
  expect(best, `no run under ${BUDGET_MS / 2} ms on a busy machine — a stall:\n${shown}`).toBeLessThan(BUDGET_MS / 2);
  process.stdout.write(`event loop: the machine is too busy for ${PROBE_LIMIT_MS} ms (idle baselines over it); best run max ${best.toFixed(1)} ms < ${BUDGET_MS / 2} ms\n${shown}\n`);
}

describe("the event loop while schemas are compiled and compared", () => {
  let server: SpawnedServer;
  let dir: string;
  let resolveUrl: string;
  const api = async (method: string, pathname: string, body?: unknown) =>
    fetch(`${server.url}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "pinset-schema-loop-"));
    server = await spawnServer({ PINSET_DATA_DIR: dir, PINSET_ADMIN_TOKEN: TOKEN, PINSET_RATE_LIMIT_RPS: "0", PINSET_SCHEMA_TIMEOUT_MS: String(BUDGET_MS) });
    expect((await api("PUT", "/v1/projects/loop")).status).toBe(201);
    expect((await api("POST", "/v1/projects/loop/artifacts/prompt/p", { content: content.prompt() })).status).toBe(201);
    const set = await (await api("POST", "/v1/projects/loop/version-sets", { components: { prompt: "prompt/p@1" } })).json();
    expect((await api("PUT", "/v1/projects/loop/environments/prod", {})).status).toBe(201);
    expect((await api("POST", "/v1/projects/loop/environments/prod/deploy", { version_set: set.id })).status).toBe(200);
    resolveUrl = `${server.url}/v1/projects/loop/environments/prod/resolve`;
    // Warm: a worker is loaded and a small schema compiled, the resolve is cached.
    expect((await api("POST", "/v1/projects/loop/artifacts/contract/warm", { content: content.contract() })).status).toBe(201);
    for (let i = 0; i < 20; i++) await get(resolveUrl);
  }, 90_000);

  afterAll(async () => {
    agent.destroy();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`keeps /healthz and resolve under ${PROBE_LIMIT_MS} ms while a pathological schema compiles, then refuses it`, async () => {
    await expectResponsive(server, resolveUrl, async () => {
      const publish = api("POST", "/v1/projects/loop/artifacts/contract/slow", { content: { schema: slowSchema() } });
      const { result, latencies } = await probeWhile(server, resolveUrl, publish);
      expect(result.status).toBe(422);
      expect((await result.json()).errors).toEqual([{ path: "content.schema", message: `schema too complex to compile within ${BUDGET_MS} ms` }]);
      return latencies;
    });
  }, 180_000);

  it(`keeps /healthz and resolve under ${PROBE_LIMIT_MS} ms while two contracts are compared through a backtracking regex`, async () => {
    const { before, after } = redosContracts();
    expect((await api("POST", "/v1/projects/loop/artifacts/contract/redos", { content: before })).status).toBe(201);
    expect((await api("POST", "/v1/projects/loop/artifacts/contract/redos", { content: after })).status).toBe(201);
    const ids: string[] = [];
    for (const v of [1, 2]) ids.push((await (await api("POST", "/v1/projects/loop/version-sets", { components: { answer: `contract/redos@${v}` } })).json()).id);
    await expectResponsive(server, resolveUrl, async () => {
      const diff = api("GET", `/v1/projects/loop/diff?from=${ids[0]}&to=${ids[1]}`);
      const { result, latencies } = await probeWhile(server, resolveUrl, diff);
      expect(result.status).toBe(200);
      expect((await result.json()).components[0].detail.changes[0].message).toBe(`schema too complex to compare within ${BUDGET_MS} ms; could not be classified`);
      return latencies;
    });
  }, 240_000);
});
