/**
 * What one hostile client does to a registry process (issue 11, findings 1 and 3), measured on
 * the real thing: `src/main.ts` in a child shell whose open-file limit is lowered with
 * `ulimit -n`, on a Postgres database this script creates and drops.
 *
 *   npx tsx scripts/bench-hostile.ts [--repo DIR] [--nofile 4096] [--watches 5000] [--posts 40] [--caps off]
 *
 * `--repo` runs another checkout's server (e.g. the code before a change, with a node_modules
 * link) so before and after are measured in the same run on the same machine.
 *
 * - watches: one read token opens watch streams in batches of 100; after each batch /healthz
 *   and another tenant's resolve are probed on fresh connections. Reports how many streams the
 *   server accepted, how many it refused (429/503), and the first batch at which a probe failed.
 * - unauthenticated bodies: `--posts` concurrent 9.7 MiB POSTs without a token; reports the
 *   server's RSS growth (sampled every 25 ms), the longest /healthz answer meanwhile (probed
 *   every 50 ms) beside the longest of 20 on the idle server, and how long until every 401 arrived.
 * - a declared `content-length: 1000000000000` with a valid token: time to the answer (10 s cap).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { freePort, REPO_ROOT } from "../test/support/spawn-server.js";

const ADMIN = "bench-admin-token-0123456789abcdef";
const { values } = parseArgs({
  options: {
    repo: { type: "string", default: REPO_ROOT },
    nofile: { type: "string", default: "4096" },
    watches: { type: "string", default: "5000" },
    posts: { type: "string", default: "40" },
    /** `off`: per-token and per-address watch caps off, so only the instance's cap is left. */
    caps: { type: "string", default: "default" },
  },
});
const adminUrl = process.env.PINSET_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const log = (line: string) => process.stderr.write(`bench-hostile: ${line}\n`);
const load = () => os.loadavg().map((v) => v.toFixed(1)).join(" / ");

interface Server {
  child: ChildProcess;
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function startServer(repo: string, env: Record<string, string>, nofile: number): Promise<Server> {
  const port = await freePort();
  const child = spawn("/bin/sh", ["-c", `ulimit -n ${nofile} && exec "${process.execPath}" --import tsx src/main.ts`], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "warn", PINSET_RATE_LIMIT_RPS: "0", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", () => {});
  const deadline = Date.now() + 60_000;
  while (!out.includes("Pinset listening on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

async function api(s: Server, method: string, pathname: string, token: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${s.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`);
  return res;
}

/** Two tenants: `a` (its read token opens the watches) and `b` (whose resolve must keep working). */
async function seed(s: Server): Promise<{ readA: string; readB: string }> {
  const tokens: string[] = [];
  for (const project of ["a", "b"]) {
    await api(s, "PUT", `/v1/projects/${project}`, ADMIN);
    await api(s, "POST", `/v1/projects/${project}/artifacts/config/app`, ADMIN, { content: { values: { project } } });
    const set = (await (await api(s, "POST", `/v1/projects/${project}/version-sets`, ADMIN, { components: { config: "config/app@1" } })).json()) as { id: string };
    await api(s, "PUT", `/v1/projects/${project}/environments/production`, ADMIN);
    await api(s, "POST", `/v1/projects/${project}/environments/production/deploy`, ADMIN, { version_set: set.id });
    const created = (await (await api(s, "POST", "/v1/tokens", ADMIN, { name: `read ${project}`, scopes: ["read"], projects: [project] })).json()) as { token: string };
    tokens.push(created.token);
  }
  return { readA: tokens[0]!, readB: tokens[1]! };
}

/** One GET on its own connection; the status, or the error code. */
function probe(url: string, token?: string, timeoutMs = 5_000): Promise<{ status: number | string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? err.message, ms: performance.now() - started }));
  });
}

/** Opens a watch; resolves with its status (200 keeps the stream open). */
function openWatch(url: string, token: string, open: http.ClientRequest[]): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }, (res) => {
      // The time-out is for the answer; an open stream may be quiet longer (heartbeats every 10 s).
      req.setTimeout(0);
      if (res.statusCode !== 200) res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    open.push(req);
  });
}

async function fdCount(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
}

async function benchWatches(s: Server, tokens: { readA: string; readB: string }, total: number) {
  const open: http.ClientRequest[] = [];
  const statuses = new Map<string, number>();
  let firstProbeFailure: string | undefined;
  const watchUrl = `${s.url}/v1/projects/a/environments/production/watch`;
  for (let done = 0; done < total; done += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, total - done) }, () => openWatch(watchUrl, tokens.readA, open)));
    for (const st of batch) statuses.set(String(st), (statuses.get(String(st)) ?? 0) + 1);
    const [health, resolveB] = await Promise.all([probe(`${s.url}/healthz`), probe(`${s.url}/v1/projects/b/environments/production/resolve`, tokens.readB)]);
    if (firstProbeFailure === undefined && (health.status !== 200 || resolveB.status !== 200)) {
      firstProbeFailure = `after ${done + batch.length} attempts: /healthz ${health.status}, resolve of b ${resolveB.status}`;
    }
  }
  const fds = await fdCount(s.child.pid!);
  const [health, resolveB] = await Promise.all([probe(`${s.url}/healthz`), probe(`${s.url}/v1/projects/b/environments/production/resolve`, tokens.readB)]);
  for (const req of open) req.destroy();
  return { statuses: Object.fromEntries(statuses), firstProbeFailure: firstProbeFailure ?? "none", fds, end: { healthz: health.status, resolveB: resolveB.status } };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function unauthenticatedPost(url: string, body: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": String(body.length) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
}

async function benchBodies(s: Server, posts: number) {
  const pid = s.child.pid!;
  const body = Buffer.alloc(Math.round(9.7 * 1024 * 1024), 0x20);
  body.write('{"content":"');
  body.write('"}', body.length - 2);
  // Same-run baseline: /healthz on the idle server.
  const atRest: number[] = [];
  for (let i = 0; i < 20; i++) {
    atRest.push((await probe(`${s.url}/healthz`)).ms);
    await new Promise((r) => setTimeout(r, 50));
  }
  const before = await rssMiB(pid);
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssMiB(pid));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  let worstHealthz = 0;
  const healthFailures: string[] = [];
  const prober = (async () => {
    while (sampling) {
      const p = await probe(`${s.url}/healthz`, undefined, 30_000);
      worstHealthz = Math.max(worstHealthz, p.ms);
      if (p.status !== 200) healthFailures.push(String(p.status));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: posts }, () => unauthenticatedPost(`${s.url}/v1/projects/a/artifacts/prompt/big`, body)));
  const allAnswered = performance.now() - started;
  await new Promise((r) => setTimeout(r, 300));
  sampling = false;
  await Promise.all([sampler, prober]);
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[String(r)] = (statuses[String(r)] ?? 0) + 1;
  return { statuses, rssBefore: before, rssPeak: peak, worstHealthzAtRestMs: Math.max(...atRest), worstHealthzMs: worstHealthz, healthFailures, allAnsweredMs: allAnswered };
}

/** Headers that declare a 1e12-byte body, then nothing: how long until the server answers? */
function hugeDeclared(s: Server): Promise<string> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(s.port, "127.0.0.1");
    let answer = "";
    const done = (what: string) => {
      socket.destroy();
      resolve(`${what} after ${(performance.now() - started).toFixed(0)} ms`);
    };
    const timer = setTimeout(() => done("no answer"), 10_000);
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
      const line = answer.split("\r\n")[0];
      if (line) {
        clearTimeout(timer);
        done(line);
      }
    });
    socket.on("error", () => {});
    socket.write(`POST /v1/projects/a/artifacts/prompt/huge HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ADMIN}\r\ncontent-type: application/json\r\ncontent-length: 1000000000000\r\n\r\n{"content":`);
  });
}

async function main(): Promise<void> {
  const nofile = Number(values.nofile);
  const name = `pinset_hostile_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  const dir = await mkdtemp(path.join(tmpdir(), "pinset-hostile-"));
  const servers: Server[] = [];
  try {
    const caps: Record<string, string> = values.caps === "off" ? { PINSET_WATCH_MAX_PER_TOKEN: "0", PINSET_WATCH_MAX_PER_ADDRESS: "0" } : {};
    const env: Record<string, string> = { DATABASE_URL: dbUrl.toString(), PINSET_DATA_DIR: dir, PINSET_ADMIN_TOKEN: ADMIN, ...caps };
    log(`repo ${values.repo}; load ${load()}`);
    const s1 = await startServer(values.repo, env, nofile);
    servers.push(s1);
    const tokens = await seed(s1);
    log(`watches: ${values.watches} from one read token, ulimit -n ${nofile}`);
    const watches = await benchWatches(s1, tokens, Number(values.watches));
    await s1.stop();
    log(`load ${load()}`);

    const s2 = await startServer(values.repo, env, nofile);
    servers.push(s2);
    log(`unauthenticated bodies: ${values.posts} × 9.7 MiB`);
    const bodies = await benchBodies(s2, Number(values.posts));
    const declared = await hugeDeclared(s2);
    await s2.stop();
    const result = { repo: values.repo, nofile, caps: values.caps, load: load(), watches, bodies, declared };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const s of servers) await s.stop();
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
