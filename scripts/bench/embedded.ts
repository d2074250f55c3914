/**
 * `npm run bench -- --only embedded` (issue 20): the embedded registry (no Postgres server) under
 * load, with PGlite in its worker thread (what `npm start` runs) beside the same registry with
 * PGlite on the HTTP thread (before issue 20), both started by embedded-child.ts and alive
 * together; rounds alternate between them so drift of the shared machine hits both.
 *
 * - mixed: 20 connections, each cycling GET a version, GET history, GET the environment, publish
 *   a new version (write), deploy (write, NOTIFY) — p99 over the run, median of the rounds;
 * - burst: 20 connections publishing ~20 KB contents while a probe asks a resolve that is in
 *   memory (another environment, warmed) every 10 ms — the probe's latencies during the burst.
 */
import { spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { REPO_ROOT } from "../../test/support/spawn-server.js";
import { median, ms, summarize, type Summary } from "./stats.js";
import type { Row } from "./table.js";

const TOKEN = "bench-embedded-token-0123456789abcdef";
const PROJECT = "emb";
const CONNECTIONS = 20;
type Mode = "worker" | "thread";

interface Registry {
  mode: Mode;
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedResult {
  rounds: number;
  mixed: Record<Mode, Array<{ p50: number; p99: number; rps: number; non2xx: number; errors: number }>>;
  burst: Record<Mode, { probe: Summary; writesPerSecond: number }>;
  load: string;
}

async function startRegistry(mode: Mode, dataDir: string): Promise<Registry> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench/embedded-child.ts", mode, dataDir, TOKEN], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  child.stderr!.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`embedded registry (${mode}) exited with ${code}: ${tail}`)));
  });
  return {
    mode,
    url,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

async function call(url: string, method: string, pathname: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${pathname} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Project `emb`: config/a at versions 1 and 2, a set of each, `load` (deployed to under load) and `steady` (only resolved). */
async function seed(url: string): Promise<[string, string]> {
  await call(url, "PUT", `/v1/projects/${PROJECT}`);
  const sets: string[] = [];
  for (const i of [1, 2]) {
    const { version } = await call(url, "POST", `/v1/projects/${PROJECT}/artifacts/config/a`, { content: { values: { i } } });
    sets.push((await call(url, "POST", `/v1/projects/${PROJECT}/version-sets`, { components: { cfg: `config/a@${version}` } })).id as string);
  }
  for (const env of ["load", "steady"]) {
    await call(url, "PUT", `/v1/projects/${PROJECT}/environments/${env}`);
    await call(url, "POST", `/v1/projects/${PROJECT}/environments/${env}/deploy`, { version_set: sets[0] });
  }
  return sets as [string, string];
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };
let counter = 0;

async function mixedLoad(registry: Registry, sets: [string, string], seconds: number) {
  const base = `/v1/projects/${PROJECT}`;
  const result = await autocannon({
    url: registry.url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: auth,
    requests: [
      { method: "GET", path: `${base}/artifacts/config/a/versions/1` },
      { method: "GET", path: `${base}/environments/load/history?limit=20` },
      { method: "GET", path: `${base}/environments/load` },
      { method: "POST", path: `${base}/artifacts/config/mixed`, headers: json, setupRequest: (r) => ({ ...r, body: JSON.stringify({ content: { values: { n: ++counter, mode: registry.mode } } }) }) },
      { method: "POST", path: `${base}/environments/load/deploy`, headers: json, setupRequest: (r) => ({ ...r, body: JSON.stringify({ version_set: sets[++counter % 2] }) }) },
    ],
  });
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

/** One GET of a resolve held in memory, on its own keep-alive connection: milliseconds. */
function probeOnce(agent: Agent, url: URL): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: auth }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`resolve answered ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

async function burstWithProbe(registry: Registry, seconds: number) {
  const url = new URL(`${registry.url}/v1/projects/${PROJECT}/environments/steady/resolve`);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 20; i++) await probeOnce(agent, url);
  const filler = "x".repeat(20_000);
  let running = true;
  // autocannon answers a thenable, not a Promise.
  const burst = Promise.resolve(autocannon({
    url: registry.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ method: "POST", path: `/v1/projects/${PROJECT}/artifacts/config/burst`, headers: json, setupRequest: (r) => ({ ...r, body: JSON.stringify({ content: { values: { n: ++counter, filler } } }) }) }],
  })).finally(() => (running = false));
  const samples: number[] = [];
  // The burst's connections open and send first; the probe measures the steady burst, not its start.
  await new Promise((resolve) => setTimeout(resolve, 500));
  while (running) {
    samples.push(await probeOnce(agent, url));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const result = await burst;
  agent.destroy();
  return { probe: summarize(samples), writesPerSecond: result.requests.average };
}

export async function benchEmbedded(options: { quick: boolean; log(line: string): void }): Promise<{ rows: Row[]; result: EmbeddedResult }> {
  const { log } = options;
  const rounds = options.quick ? 1 : 3;
  const seconds = options.quick ? 5 : 10;
  const scratch = await mkdtemp(path.join(tmpdir(), "pinset-bench-embedded-"));
  const registries: Registry[] = [];
  try {
    for (const mode of ["worker", "thread"] as const) {
      log(`embedded: starting the registry with PGlite ${mode === "worker" ? "in a worker thread" : "on the HTTP thread"}`);
      registries.push(await startRegistry(mode, path.join(scratch, mode)));
    }
    const sets = new Map<Registry, [string, string]>();
    for (const r of registries) sets.set(r, await seed(r.url));
    const mixed: EmbeddedResult["mixed"] = { worker: [], thread: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const r of round % 2 ? registries : [...registries].reverse()) {
        log(`embedded: mixed load, round ${round} of ${rounds}, ${r.mode}: ${CONNECTIONS} connections for ${seconds} s`);
        mixed[r.mode].push(await mixedLoad(r, sets.get(r)!, seconds));
      }
    }
    const burst = {} as EmbeddedResult["burst"];
    for (const r of registries) {
      log(`embedded: write burst with a resolve probe, ${r.mode}`);
      burst[r.mode] = await burstWithProbe(r, seconds);
    }
    const load = os.loadavg().map((v) => v.toFixed(1)).join(" / ");
    const result: EmbeddedResult = { rounds, mixed, burst, load };
    return { rows: rowsOf(result), result };
  } finally {
    await Promise.all(registries.map((r) => r.stop()));
    await rm(scratch, { recursive: true, force: true });
  }
}

function rowsOf(r: EmbeddedResult): Row[] {
  const p99 = (mode: Mode) => median(r.mixed[mode].map((m) => m.p99));
  const rps = (mode: Mode) => median(r.mixed[mode].map((m) => m.rps));
  const failed = (mode: Mode) => r.mixed[mode].reduce((n, m) => n + m.non2xx + m.errors, 0);
  const note = (mode: Mode) => (failed(mode) ? `, ${failed(mode)} failed` : "");
  const worker = r.burst.worker;
  const thread = r.burst.thread;
  return [
    {
      measure: `embedded registry, ${CONNECTIONS} connections of mixed reads and writes (3 GET : 2 writes), p99 (median of ${r.rounds}; load ${r.load})`,
      pinset: `PGlite in a worker: ${ms(p99("worker"))}, ${rps("worker").toFixed(0)} req/s${note("worker")}`,
      baseline: `PGlite on the HTTP thread: ${ms(p99("thread"))}, ${rps("thread").toFixed(0)} req/s${note("thread")}`,
      target: "p99 < 250 ms",
      pass: p99("worker") < 250 && failed("worker") === 0,
    },
    {
      measure: `embedded: resolve from memory during a burst of ${CONNECTIONS} publishing connections, p50 / p99 / max (${worker.probe.n} probes)`,
      pinset: `worker: ${ms(worker.probe.p50)} / ${ms(worker.probe.p99)} / ${ms(worker.probe.max)} (${worker.writesPerSecond.toFixed(0)} writes/s)`,
      baseline: `HTTP thread: ${ms(thread.probe.p50)} / ${ms(thread.probe.p99)} / ${ms(thread.probe.max)} (${thread.writesPerSecond.toFixed(0)} writes/s)`,
      target: "p99 < 10 ms",
      pass: worker.probe.p99 < 10,
    },
  ];
}
