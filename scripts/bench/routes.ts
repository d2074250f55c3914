import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { freePort, REPO_ROOT, spawnServer, type SpawnedServer } from "../../test/support/spawn-server.js";
import { createBenchDatabase } from "./cluster.js";
import { median } from "./stats.js";

/**
 * Non-hot routes (issue 20): the registry on Postgres against a bare `node:http` + `pg` server
 * (bare-routes-server.ts) that runs the same SQL for the same requests and serialises the JSON
 * once. Both share one database the bench creates (reads see the same rows; writes go to names
 * of their own, so each side's versions and sets grow alike). Rounds alternate bare/registry
 * per route, each after a short warm-up; the median round counts, with the load average beside.
 */
export const ROUTES_TOKEN = "bench-routes-token-0123456789abcdef";
const PROJECT = "bench";

export interface RouteFigures {
  rps: number;
  p50: number;
  p99: number;
  /** CPU time (user + system) the server process spent per request: unlike req/s, not diluted by other tenants' load. */
  cpuUs: number;
}

export interface RouteResult {
  name: string;
  pinset: RouteFigures;
  bare: RouteFigures;
  ratio: number;
  /** Bare CPU per request ÷ the registry's (1 = as cheap as the bare server). */
  cpuRatio: number;
  target: number;
  /** The 1-minute load average at the median registry round. */
  load: number;
}

export interface RoutesResult {
  routes: RouteResult[];
  rounds: number;
  seconds: number;
  connections: number;
}

/** What the seed left behind, handed to the bare server so both ask for the same rows. */
export interface RoutesSeed {
  setA: string;
  setB: string;
  environment: string;
}

interface Side {
  name: "pinset" | "bare";
  url: string;
  pid: number;
  /** What the side's writes are published under (distinct per side: same growth, no collisions). */
  writeName: string;
}

interface RouteCase {
  name: string;
  target: number;
  status: number;
  request(side: Side, seed: RoutesSeed, unique: () => string): { method: string; path: string; body?: () => string };
}

/** The five routes of issue 20 with their targets (ratio of the bare server's req/s). */
export const ROUTE_CASES: RouteCase[] = [
  { name: "GET one artifact version", target: 0.5, status: 200, request: () => ({ method: "GET", path: `/v1/projects/${PROJECT}/artifacts/prompt/system/versions/1` }) },
  {
    name: "publish a version (new content each request)",
    target: 0.75,
    status: 201,
    request: (side, _seed, unique) => ({
      method: "POST",
      path: `/v1/projects/${PROJECT}/artifacts/config/${side.writeName}`,
      body: () => JSON.stringify({ content: { values: { build: unique(), retries: 3 } } }),
    }),
  },
  {
    name: "create a version set (new set each request)",
    target: 0.75,
    status: 201,
    request: (side, _seed, unique) => ({
      method: "POST",
      path: `/v1/projects/${PROJECT}/version-sets`,
      body: () =>
        JSON.stringify({
          components: { "prompt.system": "prompt/system@1", model: "model/chat@1", contract: "contract/answer@1", config: "config/app@2" },
          code: { repo: `https://example.com/${side.writeName}.git`, commit: unique() },
        }),
    }),
  },
  { name: "diff two sets", target: 0.75, status: 200, request: (_side, seed) => ({ method: "GET", path: `/v1/projects/${PROJECT}/diff?from=${seed.setA}&to=${seed.setB}` }) },
  { name: "environment history (50 entries)", target: 0.75, status: 200, request: (_side, seed) => ({ method: "GET", path: `/v1/projects/${PROJECT}/environments/${seed.environment}/history` }) },
];

async function call(server: string, method: string, pathname: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${server}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${ROUTES_TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${pathname} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** A project with four artifacts, two sets differing in every slot, and an environment with 60 deploys. */
export async function seedRoutes(url: string): Promise<RoutesSeed> {
  const p = `/v1/projects/${PROJECT}`;
  await call(url, "PUT", p);
  const para = "You answer questions about the user's orders. Cite the order id. Never invent tracking numbers. ";
  for (const i of [1, 2]) {
    await call(url, "POST", `${p}/artifacts/prompt/system`, { content: { template: `${para.repeat(30)}\nQuestion ${i}: {{question}}`, variables: ["question"] } });
    await call(url, "POST", `${p}/artifacts/model/chat`, { content: { provider: "openai", model: i === 1 ? "gpt-4o-mini" : "gpt-4o", revision: "2024-07-18", params: { temperature: 0.2 * i, max_tokens: 800 } } });
    await call(url, "POST", `${p}/artifacts/contract/answer`, {
      content: { schema: { type: "object", required: i === 1 ? ["answer"] : ["answer", "order_id"], properties: { answer: { type: "string" }, order_id: { type: "string" } } } },
    });
    await call(url, "POST", `${p}/artifacts/config/app`, { content: { values: { build: i, retries: 3 } } });
  }
  const set = async (v: number) =>
    ((await call(url, "POST", `${p}/version-sets`, { components: { "prompt.system": `prompt/system@${v}`, model: `model/chat@${v}`, contract: `contract/answer@${v}`, config: `config/app@${v}` } })) as { id: string }).id;
  const setA = await set(1);
  const setB = await set(2);
  const environment = "prod";
  await call(url, "PUT", `${p}/environments/${environment}`);
  for (let i = 0; i < 60; i++) await call(url, "POST", `${p}/environments/${environment}/deploy`, { version_set: i % 2 === 0 ? setA : setB });
  return { setA, setB, environment };
}

/** User + system CPU of a process so far, in microseconds (from /proc; clock ticks of 10 ms). */
async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of proc(5), counted from the state field (3): utime and stime.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function startBareRoutes(databaseUrl: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench/bare-routes-server.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", DATABASE_URL: databaseUrl, PORT: String(port), TOKEN: ROUTES_TOKEN },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`the bare routes server exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

async function load(side: Side, route: RouteCase, seed: RoutesSeed, unique: () => string, seconds: number, connections: number): Promise<RouteFigures> {
  const { method, path: pathname, body } = route.request(side, seed, unique);
  const headers: Record<string, string> = { authorization: `Bearer ${ROUTES_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) };
  const cpuBefore = await cpuMicros(side.pid);
  const result = await autocannon({
    url: `${side.url}${pathname}`,
    connections,
    duration: seconds,
    requests: [{ method, path: pathname, headers, ...(body ? { setupRequest: (req) => ({ ...req, body: body() }) } : {}) }],
  });
  const wrong = result.statusCodeStats ? Object.keys(result.statusCodeStats).filter((code) => Number(code) !== route.status) : [];
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || wrong.length > 0) {
    throw new Error(`${side.name} ${route.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx, statuses ${JSON.stringify(result.statusCodeStats)}`);
  }
  const cpuUs = (await cpuMicros(side.pid)) - cpuBefore;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUs: cpuUs / Math.max(1, result.requests.total) };
}

export async function benchRoutes(adminUrl: string, options: { seconds: number; rounds: number; connections: number; log(line: string): void }): Promise<RoutesResult> {
  const database = await createBenchDatabase(adminUrl, "pinset_bench_routes");
  const databaseUrl = database.url;
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-bench-routes-"));
  let registry: SpawnedServer | undefined;
  let bare: Awaited<ReturnType<typeof startBareRoutes>> | undefined;
  try {
    // PINSET_BENCH_CPU_PROF=<dir>: the registry writes a V8 CPU profile there when it stops (for finding the waste).
    const profile = process.env.PINSET_BENCH_CPU_PROF;
    registry = await spawnServer({
      DATABASE_URL: databaseUrl,
      PINSET_DATA_DIR: dir,
      PINSET_ADMIN_TOKEN: ROUTES_TOKEN,
      PINSET_RATE_LIMIT_RPS: "0",
      LOG_LEVEL: "info",
      ...(profile ? { NODE_OPTIONS: `--import ${path.join(REPO_ROOT, "scripts/bench/cpu-profile.mjs")}`, PINSET_BENCH_CPU_PROF_DIR: profile } : {}),
    });
    options.log("routes: seeding artifacts, two sets and 60 deploys");
    const seed = await seedRoutes(registry.url);
    bare = await startBareRoutes(databaseUrl);
    const run = randomBytes(3).toString("hex");
    let counter = 0;
    const unique = () => `${run}-${counter++}`;
    const sides: Side[] = [
      { name: "bare", url: bare.url, pid: bare.pid, writeName: "pub-bare" },
      { name: "pinset", url: registry.url, pid: registry.child.pid!, writeName: "pub-pinset" },
    ];
    const routes: RouteResult[] = [];
    // PINSET_BENCH_ROUTES=diff,history: only the routes whose name contains one of these (for working on one route).
    const only = process.env.PINSET_BENCH_ROUTES?.split(",").filter(Boolean);
    for (const route of ROUTE_CASES.filter((r) => !only?.length || only.some((o) => r.name.includes(o)))) {
      const rounds: Record<Side["name"], RouteFigures[]> = { bare: [], pinset: [] };
      const loads: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        for (const side of sides) {
          await load(side, route, seed, unique, 1, options.connections);
          rounds[side.name].push(await load(side, route, seed, unique, options.seconds, options.connections));
          if (side.name === "pinset") loads.push(os.loadavg()[0]!);
        }
      }
      const pick = (r: RouteFigures[]): RouteFigures => ({ rps: median(r.map((x) => x.rps)), p50: median(r.map((x) => x.p50)), p99: median(r.map((x) => x.p99)), cpuUs: median(r.map((x) => x.cpuUs)) });
      const pinset = pick(rounds.pinset);
      const baseline = pick(rounds.bare);
      routes.push({ name: route.name, pinset, bare: baseline, ratio: pinset.rps / baseline.rps, cpuRatio: baseline.cpuUs / pinset.cpuUs, target: route.target, load: median(loads) });
      options.log(`routes: ${route.name}: ${pinset.rps.toFixed(0)} vs ${baseline.rps.toFixed(0)} req/s, CPU ${pinset.cpuUs.toFixed(0)} vs ${baseline.cpuUs.toFixed(0)} µs/request (load ${median(loads).toFixed(1)})`);
    }
    return { routes, rounds: options.rounds, seconds: options.seconds, connections: options.connections };
  } finally {
    await Promise.all([registry?.stop(), bare?.stop()]);
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
